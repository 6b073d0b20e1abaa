"""Explorations one queue count at a time, smallest first, under one
``--timeout``: what ``check``, ``verify`` and ``diff`` share."""

from __future__ import annotations

from virtio_notifier_spec.model.explore import INTERRUPTED, TIMEOUT, Exploration
from virtio_notifier_spec.scale.search import explore
from virtio_notifier_spec.spec.schema import Spec

from .deadline import Deadline
from .progress import Progress


class RunsInterrupted(KeyboardInterrupt):
    """Ctrl-C between two runs (or before a search could catch it): the runs
    finished before it, and the queue counts not run, for a report of what
    was decided (``--junit``). Still a KeyboardInterrupt for everyone else."""

    def __init__(self, runs: list[Exploration], not_run: list[int]) -> None:
        super().__init__()
        self.runs, self.not_run = runs, not_run


def explore_sizes(
    spec: Spec, sizes: range, deadline: Deadline, progress: Progress, **limits
) -> tuple[list[Exploration], list[int]]:
    """One exploration per queue count, smallest first, until one stops early
    (--max-states, --timeout, Ctrl-C): the runs, and the counts not run."""
    results: list[Exploration] = []
    try:
        for n in sizes:
            if results and results[-1].partial is not None:
                break
            progress.stage(f"{spec.name}, {n} queue(s)")
            results.append(explore(spec, n, progress=progress, timeout=deadline.remaining(), **limits))
    except KeyboardInterrupt:
        done = {r.queues for r in results}
        raise RunsInterrupted(results, [n for n in sizes if n not in done]) from None
    return results, [n for n in sizes if n > results[-1].queues]


def first_partial(by_variant: dict[str, list[Exploration]], skipped: bool = False) -> str | None:
    """Why the runs stopped early (Ctrl-C first), or None when they did not."""
    reasons = [r.partial for runs in by_variant.values() for r in runs if r.partial]
    if INTERRUPTED in reasons:
        return INTERRUPTED
    return reasons[0] if reasons else (TIMEOUT if skipped else None)
