"""Every kind of property of a table, at each queue count explored.

An exploration (:func:`~.search.explore`) decides the invariants, the step
properties, history freedom and the table's hygiene. :func:`with_liveness`
adds the properties of infinite runs (``leads_to``, ``recoverable``,
``deadlock_free``) at the same queue counts, so that ``check``, ``verify``,
``diff``, ``scale`` and the diff picture give one verdict on every property
the table declares. Each liveness property is decided on the graph that
:func:`~.liveness.plans` says decides it exactly (``"auto"``):

- ``projection``: the one-queue machine, once, for every N;
- ``orbits``: one state per orbit of the queue permutations, at N;
- ``none``: every state, at N.

A graph is built only when it has at most ``limit`` states (known from the
exploration beside it, or found by building no further); a larger one, or
one a support search stands in for (above the 8 queues up to which orbit
searches run), leaves its properties **not checked**,
with the reason and the ``liveness`` command that checks them. Not checked
is not a verdict: it changes no exit code, and every command prints it.
An exploration that stopped early (``--max-states``, ``--timeout``,
``--depth``, Ctrl-C) leaves every liveness property unknown: a graph cut
short may lack the run that breaks a property, or the one that recovers.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.scale.search import explore
>>> spec = load_spec("resolved")
>>> (run,) = with_liveness(spec, [explore(spec, 2)])
>>> run.verdict("kick_eventually_handled"), run.verdict("fast_path_recoverable")
('holds', 'holds')
>>> (big,) = with_liveness(spec, [explore(spec, 64, symmetry=True)])
>>> big.verdict("kick_eventually_handled"), big.verdict("fast_path_recoverable")
('holds', 'not checked')
"""

from __future__ import annotations

import dataclasses
import shlex
import time
from collections.abc import Iterable

from virtio_notifier_spec.model.explore import Exploration
from virtio_notifier_spec.model.liveness import LivenessRun
from virtio_notifier_spec.spec.profile import ADVERSARIAL
from virtio_notifier_spec.spec.schema import Spec

from .liveness import check_every, plans
from .search import ORBIT_LIMIT

#: The largest graph (states) a liveness check builds beside an exploration.
LIVENESS_LIMIT = 50_000

_MAX_STATES = "stopped at --max-states"


def liveness_command(spec: Spec, spec_arg: str | None, queues: int, mode: str = "none") -> str:
    """The command that checks ``spec``'s liveness properties at ``queues``
    queues, on orbits when ``mode`` says so.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> liveness_command(load_spec("resolved", env="qemu"), "my table.toml", 64, "orbits")
    "virtio-notifier-spec liveness --spec 'my table.toml' --queues 64 --symmetry --env qemu"
    """
    words = ["virtio-notifier-spec", "liveness", "--spec", spec_arg or spec.name, "--queues", str(queues)]
    words += ["--symmetry"] if mode == "orbits" else []
    if spec.env != ADVERSARIAL:
        words += ["--env", spec.env]
    return shlex.join(words)


def _graph_size(run: Exploration, mode: str) -> int | None:
    """The states of the graph ``mode`` needs at ``run``'s queue count, when
    the exploration says it; None when it does not (support, orbits unknown)."""
    if run.reduction == "support":
        return None
    if mode == "orbits":
        return run.states if run.reduction == "orbits" else None
    return run.states if run.reduction == "none" else run.concrete_states


def _why(run: Exploration, mode: str, size: int | None, limit: int) -> str | None:
    """Why ``mode``'s graph is not built beside ``run`` (None: it is)."""
    what = {"orbits": "the orbit graph", "none": "the whole state graph"}[mode]
    if run.reduction == "support" and (mode == "none" or run.queues > ORBIT_LIMIT):
        return f"{what} at {run.queues} queues is not built beside a support search"
    if size is not None and size > limit:
        return f"{what} at {run.queues} queues has {size:,} states, more than {limit:,}"
    return None


def with_liveness(
    spec: Spec,
    runs: Iterable[Exploration],
    *,
    spec_arg: str | None = None,
    fair: bool = True,
    timeout: float | None = None,
    limit: int = LIVENESS_LIMIT,
    **limits,
) -> list[Exploration]:
    """``runs`` (explorations of ``spec``) each with the verdicts of ``spec``'s
    liveness properties at its queue count (see the module). ``timeout`` is
    for all of them; ``limits`` (``max_states``, ``depth``) bound each graph
    as they bounded the explorations. ``spec_arg`` is the table as the user
    named it, for the command a "not checked" verdict points to."""
    runs = list(runs)
    if not spec.liveness:
        return runs
    ends = None if timeout is None else time.monotonic() + timeout
    chosen = plans(spec, "auto")
    groups = {
        mode: dataclasses.replace(spec, liveness=tuple(p for p in spec.liveness if chosen[p.name] == mode))
        for mode in ("projection", "orbits", "none")
    }
    once: LivenessRun | None = None
    done: list[Exploration] = []
    for run in runs:
        stopped = run.partial or (done and done[-1].undecided)
        if stopped:  # undecided: the graph would be cut short too
            done.append(dataclasses.replace(run, liveness=(unknown_liveness(spec, run.queues, stopped, fair),)))
            continue
        parts: list[LivenessRun] = []
        not_checked: dict[str, str] = {}
        for mode, part in groups.items():
            if not part.liveness:
                continue
            left = None if ends is None else max(ends - time.monotonic(), 0.001)
            if mode == "projection":
                if once is None or once.partial:
                    once = check_every(part, (1,), symmetry="auto", fair=fair, timeout=left, **limits)[0]
                parts.append(once)
                continue
            size = _graph_size(run, mode)
            why = _why(run, mode, size, limit)
            if why is None:
                cap = min(limits.get("max_states") or limit, limit)
                found = check_every(
                    part, (run.queues,), symmetry="auto", fair=fair, timeout=left, **{**limits, "max_states": cap}
                )[0]
                if found.partial and found.partial.startswith(_MAX_STATES) and cap == limit:
                    why = f"{'the orbit graph' if mode == 'orbits' else 'the whole state graph'} at {run.queues} "
                    why += f"queues has more than {limit:,} states"
                else:
                    parts.append(found)
            if why is not None:
                command = liveness_command(spec, spec_arg, run.queues, mode)
                for prop in part.liveness:
                    not_checked[prop.name] = f"{why}; {command} checks it"
        done.append(dataclasses.replace(run, liveness=tuple(parts), not_checked=not_checked))
    return done


def unknown_liveness(spec: Spec, queues: int, why: str, fair: bool = True) -> LivenessRun:
    """Every liveness property undecided, because ``why``."""
    checks = tuple(p.name for p in spec.liveness)
    return LivenessRun(spec, queues, 0, 0, {}, checks, 0.0, "declared" if fair else "none", why)
