"""What an exploration says to people (rich tables, traces) and to machines (JSON)."""

from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.table import Table

from .explore import NOT_CHECKED, Counterexample, Exploration


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
        "dead": list(result.dead),
        "verdicts": {name: result.verdict(name) for name in result.every_check},
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
            f"{fired}/{len(r.fired)}",
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
    never fires is dead."""
    table = Table(title=f"Coverage: {result.spec.name}, {result.queues} queue(s)")
    for column in ("row", "letter", "event", "from -> to", "fired"):
        table.add_column(column, justify="right" if column == "fired" else "left")
    for row in result.spec.transitions:
        count = result.fired[row.name]
        table.add_row(
            row.name,
            row.letter or "",
            row.event,
            f"{'|'.join(row.sources)} -> {row.target or '(stays)'}",
            f"{count:,}" if count else "[red]dead[/red]",
        )
    return table


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
    stopped = [r for r, v in verdicts if v == "unknown"]
    if stopped:
        run = stopped[0].liveness_run(name)
        why = stopped[0].partial or (run.partial if run is not None else None)
        parts.append(f"[yellow]unknown[/yellow] ({span([r.queues for r in stopped])} q: {why})")
    skipped = [r.queues for r, v in verdicts if v == NOT_CHECKED]
    if skipped:
        parts.append(f"[yellow]not checked[/yellow] ({span(skipped)} q)")
    return "; ".join(parts)


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
