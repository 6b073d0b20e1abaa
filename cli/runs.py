"""Explorations one queue count at a time, smallest first, under one
``--timeout``, each with the verdicts of every kind of property (the
liveness properties beside the search: ``scale/verdicts.py``): what
``check``, ``verify`` and ``diff`` share."""

from __future__ import annotations

from dataclasses import replace

from virtio_notifier_spec.model.explore import HYGIENE, INTERRUPTED, TIMEOUT, Exploration
from virtio_notifier_spec.scale.search import explore
from virtio_notifier_spec.scale.verdicts import unknown_liveness, with_liveness
from virtio_notifier_spec.spec.schema import Spec

from .deadline import Deadline
from .progress import Progress


class RunsInterrupted(KeyboardInterrupt):
    """Ctrl-C before the first search could catch it: the runs finished
    before it (none), and the queue counts not run, for a report of what was
    decided (``--junit``). Still a KeyboardInterrupt for everyone else."""

    def __init__(self, runs: list[Exploration], not_run: list[int]) -> None:
        super().__init__()
        self.runs, self.not_run = runs, not_run


def explore_sizes(
    spec: Spec, sizes: range, deadline: Deadline, progress: Progress, *, spec_arg: str | None = None, **limits
) -> tuple[list[Exploration], list[int]]:
    """One exploration per queue count, smallest first, until one stops early
    (--max-states, --timeout, --depth, Ctrl-C), each with its liveness
    verdicts: the runs, and the counts not run. ``spec_arg`` is the table as
    the user named it (for the command a "not checked" verdict points to)."""
    results: list[Exploration] = []
    for n in sizes:
        if results and results[-1].partial is not None:
            break
        try:
            progress.stage(f"{spec.name}, {n} queue(s)")
            results.append(explore(spec, n, progress=progress, timeout=deadline.remaining(), **limits))
        except KeyboardInterrupt:  # before the search began: the runs before it stand
            if not results:
                raise RunsInterrupted([], list(sizes)) from None
            results.append(_not_begun(spec, n))
    if spec.liveness:
        progress.stage(f"{spec.name}: properties of infinite runs")
        bounds = {k: v for k, v in limits.items() if k in ("max_states", "depth") and v is not None}
        try:
            results = with_liveness(spec, results, spec_arg=spec_arg, timeout=deadline.remaining(), **bounds)
        except KeyboardInterrupt:  # the safety verdicts stand; every liveness property is unknown
            results = [replace(r, liveness=(unknown_liveness(spec, r.queues, INTERRUPTED),)) for r in results]
    return results, [n for n in sizes if n > results[-1].queues]


def _not_begun(spec: Spec, queues: int) -> Exploration:
    """A search Ctrl-C stopped before it began: nothing decided."""
    checks = (*(p.name for p in spec.properties), *HYGIENE)
    fired = {row.name: 0 for row in spec.transitions}
    return Exploration(spec, queues, 0, 0, 0, fired, {}, 0.0, INTERRUPTED, checks)


def first_partial(by_variant: dict[str, list[Exploration]], skipped: bool = False) -> str | None:
    """Why the runs stopped early (Ctrl-C first), or None when they did not."""
    reasons = [r.undecided for runs in by_variant.values() for r in runs if r.undecided]
    if INTERRUPTED in reasons:
        return INTERRUPTED
    return reasons[0] if reasons else (TIMEOUT if skipped else None)
