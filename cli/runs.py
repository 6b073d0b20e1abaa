"""Explorations one queue count at a time, smallest first, under one
``--timeout``: what ``check``, ``verify`` and ``diff`` share."""

from __future__ import annotations

from virtio_notifier_spec.model.explore import HYGIENE, INTERRUPTED, TIMEOUT, Exploration
from virtio_notifier_spec.scale.search import explore
from virtio_notifier_spec.spec.schema import Spec

from .deadline import Deadline
from .progress import Progress


def explore_sizes(
    spec: Spec, sizes: range, deadline: Deadline, progress: Progress, **limits
) -> tuple[list[Exploration], list[int]]:
    """One exploration per queue count, smallest first, until one stops early
    (--max-states, --timeout, Ctrl-C): the runs, and the counts not run."""
    results: list[Exploration] = []
    for n in sizes:
        if results and results[-1].partial is not None:
            break
        try:
            progress.stage(f"{spec.name}, {n} queue(s)")
            results.append(explore(spec, n, progress=progress, timeout=deadline.remaining(), **limits))
        except KeyboardInterrupt:  # outside the search's own loop (setting it up): the runs before stand
            results.append(not_started(spec, n))
    return results, [n for n in sizes if n > results[-1].queues]


def not_started(spec: Spec, queues: int) -> Exploration:
    """The run at ``queues`` stopped by Ctrl-C before its first state: every
    check unknown, no row fired."""
    checks = (*(p.name for p in spec.properties), *HYGIENE)
    fired = {row.name: 0 for row in spec.transitions}
    return Exploration(spec, queues, 0, 0, 0, fired, {}, 0.0, partial=INTERRUPTED, checks=checks)


def first_partial(by_variant: dict[str, list[Exploration]], skipped: bool = False) -> str | None:
    """Why the runs stopped early (Ctrl-C first), or None when they did not."""
    reasons = [r.partial for runs in by_variant.values() for r in runs if r.partial]
    if INTERRUPTED in reasons:
        return INTERRUPTED
    return reasons[0] if reasons else (TIMEOUT if skipped else None)
