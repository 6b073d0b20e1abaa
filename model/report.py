"""What an exploration says to people (rich tables, traces) and to machines (JSON)."""

from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.table import Table

from .explore import NOT_CHECKED, Counterexample, Exploration, explained, explained_verdict


def counterexample_text(result: Exploration, cx: Counterexample) -> str:
    """The counterexample as replayable text, indented under its headline."""
    spec = result.spec
    head = f"{spec.name}, {result.queues} queue(s): {cx.name} FAILS: {cx.message}"
    lines = [head, cx.trace.format(spec)]
    if cx.other is not None:
        lines += ["  ... and the other history:", cx.other.format(spec)]
    return "\n".join(lines)


def exploration_json(result: Exploration) -> dict:
    """One exploration as JSON: its search, and a verdict for every property
    of every kind (``holds``, ``fails``, ``unknown``, ``not checked``); each
    failure with its trace (``counterexamples``) or its lasso (``lassos``)."""
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
        "partial": result.undecided,
        "ok": result.ok,
        "coverage": result.fired,
        "rows": result.rows,
        "dead": list(result.dead),
        "env": spec.env,
        "not_issued": {"events": [e.name for e in spec.unissued_events], "rows": list(result.not_run)},
        "verdicts": {name: result.verdict(name) for name in result.every_check},
        "reasons": {name: why for name in result.every_check if (why := result.reason(name))},
        "counterexamples": {
            name: {
                "message": cx.message,
                "trace": cx.trace.to_json(spec),
                **({"other": cx.other.to_json(spec)} if cx.other else {}),
            }
            for name, cx in result.counterexamples.items()
        },
        "lassos": {name: lasso_json(result, name) for name in result.lassos},
        "liveness": [
            {
                "queues": run.queues,
                "states": run.states,
                "transitions": run.edges,
                "reduction": run.reduction,
                "fairness": run.fairness,
                "partial": run.partial,
                "properties": list(run.checks),
            }
            for run in result.liveness
        ],
        "not_checked": dict(result.not_checked),
    }


def lasso_json(result: Exploration, name: str) -> dict:
    """A failing liveness property: the queues of the graph that showed it,
    the message, and the lasso (stem, then the cycle repeated for ever)."""
    run = result.liveness_run(name)
    assert run is not None
    failure = run.failures[name]
    return {"queues": run.queues, "message": failure.message, **failure.lasso.to_json(run.spec)}


def failures_text(result: Exploration, shown: set[str]) -> list[str]:
    """Each failure of ``result`` not yet in ``shown`` (which it fills), as
    replayable text: a counterexample, or a lasso."""
    from .liveness import failure_text

    found = []
    for name, cx in result.counterexamples.items():
        if name not in shown:
            shown.add(name)
            found.append(counterexample_text(result, cx))
    for name in result.lassos:
        if name not in shown:
            shown.add(name)
            run = result.liveness_run(name)
            assert run is not None
            found.append(failure_text(run, name))
    return found


def not_checked_lines(runs: Iterable[Exploration]) -> list[str]:
    """One line per property some run did not check: where, why, and the
    command that checks it."""
    found: dict[tuple[str, str], list[int]] = {}
    for r in runs:
        for name, why in r.not_checked.items():
            found.setdefault((f"{r.spec.name}: {name}", why), []).append(r.queues)
    return [f"{what} not checked at {span(sizes)} queue(s): {why}" for (what, why), sizes in found.items()]


def runs_table(results: Iterable[Exploration]) -> Table:
    table = Table(title="Exploration")
    for column in ("variant", "queues", "states", "transitions", "depth", "rows fired", "seconds", "result"):
        table.add_column(column, justify="left" if column in ("variant", "result") else "right")
    for r in results:
        failing = len(r.counterexamples) + len(r.lassos)
        outcome = "partial: " + r.undecided if r.undecided else ("ok" if r.ok else f"{failing} fail")
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
    """``holds (1-6 q)`` or ``FAILS (1 q, 2 steps)`` (a lasso: ``FAILS (1 q,
    lasso 3+2)``) for one property over runs; where a run stopped early, the
    counts it decides and ``unknown``; where a run did not check it, ``not
    checked``.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> from virtio_notifier_spec.model.explore import explore
    >>> spec = load_spec("resolved")
    >>> runs = [explore(spec, 1), explore(spec, 2), explore(spec, 3, max_states=10)]
    >>> verdict_cell(runs, "no_lost_kick")
    '[green]holds[/green] (1-2 q); [yellow]unknown[/yellow] (3 q: stopped at --max-states 10)'
    """
    verdicts = [(r, r.verdict(name)) for r in runs]
    failing = [r for r, v in verdicts if v == "fails"]
    if failing:
        first = failing[0]
        if name in first.counterexamples:
            steps = len(first.counterexamples[name].trace)
            plural = "" if steps == 1 else "s"
            return f"[red]FAILS[/red] ({first.queues} q, {steps} step{plural})"
        run = first.liveness_run(name)
        assert run is not None
        lasso = run.failures[name].lasso
        return f"[red]FAILS[/red] ({run.queues} q, lasso {len(lasso.stem)}+{len(lasso.cycle)})"
    parts = []
    held = [r.queues for r, v in verdicts if v == "holds"]
    if held:
        parts.append(f"[green]holds[/green] ({span(held)} q)")
    for word, shown in EXPLAINED.items():  # the environment's doing: environment_lines says why
        explained_runs = [r.queues for r, v in verdicts if v == word]
        if explained_runs:
            parts.append(f"{shown} ({span(explained_runs)} q)")
    stopped = [r for r, v in verdicts if v == "unknown"]
    if stopped:
        run = stopped[0].liveness_run(name)
        why = stopped[0].partial or (run.partial if run is not None else None)
        parts.append(f"[yellow]unknown[/yellow] ({span([r.queues for r in stopped])} q: {why})")
    skipped = [r.queues for r, v in verdicts if v == NOT_CHECKED]
    if skipped:
        parts.append(f"[yellow]not checked[/yellow] ({span(skipped)} q)")
    return "; ".join(parts)


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
    kinds |= {p.name: p.kind.value for p in first.spec.liveness}
    names = list(first.checks)
    names += [name for name in proved or () if name not in first.every_check]  # proof-only checks
    names += [name for name in first.every_check if name not in first.checks]  # liveness
    shown = None
    for name in names:
        kind = kinds.get(name, "hygiene")
        if kind != shown:
            table.add_row(f"[bold]{kind}[/bold]")
            shown = kind
        explored = name in first.every_check
        cells = [verdict_cell(runs, name) if explored else "-" for runs in by_variant.values()]
        if proved is not None:
            cells.append(proved.get(name, "-"))
        table.add_row(f"  {name}", *cells)
    return table
