"""What an exploration says to people (rich tables, traces) and to machines (JSON)."""

from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.table import Table

from .explore import Counterexample, Exploration, explained, explained_verdict


def counterexample_text(result: Exploration, cx: Counterexample) -> str:
    """The counterexample as replayable text, indented under its headline."""
    spec = result.spec
    head = f"{spec.name}, {result.queues} queue(s): {cx.name} FAILS: {cx.message}"
    lines = [head, cx.trace.format(spec)]
    if cx.other is not None:
        lines += ["  ... and the other history:", cx.other.format(spec)]
    return "\n".join(lines)


def exploration_json(result: Exploration) -> dict:
    spec = result.spec
    return {
        "variant": spec.name,
        "queues": result.queues,
        "states": result.states,
        "reduction": result.reduction,
        "concrete_states": result.concrete_states,
        "cutoff": result.cutoff,
        "notes": list(result.notes),
        "transitions": result.transitions,
        "depth": result.depth,
        "seconds": round(result.seconds, 3),
        "partial": result.partial,
        "ok": result.ok,
        "coverage": result.fired,
        "rows": result.rows,
        "dead": list(result.dead),
        "env": spec.env,
        "not_issued": {"events": [e.name for e in spec.unissued_events], "rows": list(result.not_run)},
        "verdicts": {name: result.verdict(name) for name in result.checks},
        "reasons": {name: why for name in result.checks if (why := result.reason(name))},
        "counterexamples": {
            name: {
                "message": cx.message,
                "trace": cx.trace.to_json(spec),
                **({"other": cx.other.to_json(spec)} if cx.other else {}),
            }
            for name, cx in result.counterexamples.items()
        },
    }


def runs_table(results: Iterable[Exploration]) -> Table:
    table = Table(title="Exploration")
    for column in ("variant", "queues", "states", "transitions", "depth", "rows fired", "seconds", "result"):
        table.add_column(column, justify="left" if column in ("variant", "result") else "right")
    for r in results:
        outcome = "partial: " + r.partial if r.partial else ("ok" if r.ok else f"{len(r.counterexamples)} fail")
        fired = sum(1 for count in r.fired.values() if count)
        table.add_row(
            r.spec.name,
            str(r.queues),
            _states_cell(r),
            f"{r.transitions:,}",
            str(r.depth),
            f"{fired}/{r.rows}",  # the rows the environment never runs count as not fired
            f"{r.seconds:.2f}",
            outcome,
        )
    return table


def _states_cell(r: Exploration) -> str:
    """The stored states, and what they stand for under a reduction:
    ``145 orbits (422 states)``, ``108 support sets (exact for N >= 1)``."""
    if r.reduction == "none":
        return f"{r.states:,}"
    if r.reduction == "orbits":
        concrete = f" ({r.concrete_states:,} states)" if r.concrete_states else ""
        return f"{r.states:,} orbits{concrete}"
    cutoff = f" (exact for N >= {r.cutoff})" if r.cutoff else ""
    return f"{r.states:,} {r.reduction} sets{cutoff}"


def coverage_table(result: Exploration) -> Table:
    """How often each row of the table fired in one exploration; a row that
    never fires is dead, and a row of an event the environment does not
    issue is listed as such (it never ran)."""
    table = Table(title=f"Coverage: {result.spec.name}, {result.queues} queue(s), env {result.spec.env}")
    for column in ("row", "letter", "event", "from -> to", "fired"):
        table.add_column(column, justify="right" if column == "fired" else "left")
    unissued = {row.name for row in result.spec.unissued_rows}
    for row in (*result.spec.transitions, *result.spec.unissued_rows):
        if row.name in unissued:
            cell = "[yellow]not issued[/yellow]"
        else:
            count = result.fired[row.name]
            cell = f"{count:,}" if count else "[red]dead[/red]"
        table.add_row(
            row.name,
            row.letter or "",
            row.event,
            f"{'|'.join(row.sources)} -> {row.target or '(stays)'}",
            cell,
        )
    return table


def environment_lines(spec, names) -> list[str]:
    """What the environment left out, for every verdict on ``spec``: the
    events it does not issue and their rows, the checks among ``names``
    that are vacuous or not applicable there (and why), and the step
    premises judged on some of their events only."""
    from virtio_notifier_spec.spec.profile import not_issued_note, unissued_premise_events

    lines = []
    note = not_issued_note(spec)
    if note:
        lines.append(f"{spec.name}: {note} (--env unrestricted runs every event)")
    for name in names:
        verdict = explained_verdict(spec, name)
        if verdict is not None:
            lines.append(f"{spec.name}: {name} {verdict}: {explained(spec, name)}")
    for prop in spec.liveness:
        if prop.name in names and (missing := unissued_premise_events(spec, prop)):
            issued = [e for e in prop.events if e not in missing]
            lines.append(
                f"{spec.name}: {prop.name} is judged on steps of {', '.join(issued)} only "
                f"({', '.join(missing)}: not issued)"
            )
    return lines


def verdict_cell(runs: list[Exploration], name: str) -> str:
    """``holds (1-6 q)`` or ``FAILS (1 q, 2 steps)`` for one property over
    runs; where a run stopped early, the counts it decides and ``unknown``.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> from virtio_notifier_spec.model.explore import explore
    >>> spec = load_spec("resolved")
    >>> runs = [explore(spec, 1), explore(spec, 2), explore(spec, 3, max_states=10)]
    >>> verdict_cell(runs, "no_lost_kick")
    '[green]holds[/green] (1-2 q); [yellow]unknown[/yellow] (3 q: stopped at --max-states 10)'
    """
    failing = [r for r in runs if name in r.counterexamples]
    if failing:
        first = failing[0]
        steps = len(first.counterexamples[name].trace)
        plural = "" if steps == 1 else "s"
        return f"[red]FAILS[/red] ({first.queues} q, {steps} step{plural})"
    complete = sorted(r.queues for r in runs if not r.partial)
    stopped = [r for r in runs if r.partial]
    explained = explained_verdict(runs[0].spec, name)  # the environment's doing: environment_lines says why
    word = EXPLAINED[explained] if explained else "[green]holds[/green]"
    held = f"{word} ({span(complete)} q)" if complete else ""
    if not stopped:
        return held
    unknown = f"[yellow]unknown[/yellow] ({span([r.queues for r in stopped])} q: {stopped[0].partial})"
    return f"{held}; {unknown}" if held else unknown


#: Verdicts that are neither a pass nor a failure, as a cell shows them.
EXPLAINED = {"vacuous": "[yellow]vacuous[/yellow]", "not applicable": "[yellow]not applicable[/yellow]"}


def span(sizes: list[int]) -> str:
    """``1-6`` or ``3``: queue counts, smallest to largest."""
    return f"{sizes[0]}-{sizes[-1]}" if len(sizes) > 1 else str(sizes[0])


def verdicts_table(by_variant: dict[str, list[Exploration]], proved: dict[str, str] | None = None) -> Table:
    """Properties down, grouped under their kind, variants across; with
    ``proved`` (check name -> cell, from the Z3 proofs of `resolved`) a last
    column "proved for all N". One space between columns and the kind as a
    heading row keep names and verdicts whole in 100 columns."""
    table = Table(title="Properties", box=box.SIMPLE_HEAD, padding=0, show_edge=False)
    for heading in ("property", *by_variant):
        table.add_column(heading, no_wrap=True)
    if proved is not None:
        table.add_column("proved for all N")
    first = next(iter(by_variant.values()))[0]
    kinds = {p.name: "lemma" if p.lemma else p.kind.value for p in first.spec.properties}
    names = list(first.checks)
    names += [name for name in proved or () if name not in first.checks]  # proof-only checks
    shown = None
    for name in names:
        kind = kinds.get(name, "hygiene")
        if kind != shown:
            table.add_row(f"[bold]{kind}[/bold]")
            shown = kind
        explored = name in first.checks
        cells = [verdict_cell(runs, name) if explored else "-" for runs in by_variant.values()]
        if proved is not None:
            cells.append(proved.get(name, "-"))
        table.add_row(f"  {name}", *cells)
    return table
