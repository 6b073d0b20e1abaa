"""Exploration reduced by queue symmetry: the dispatcher behind ``check
--symmetry`` and ``scale``.

:func:`explore` takes the plain explorer's arguments and ``symmetry``:
False explores every concrete state (:func:`virtio_notifier_spec.model.explore.explore`);
True (or ``"auto"``) explores one state per orbit of the queue permutations,
and for large N the support abstraction (:mod:`.reduced`); ``"orbits"`` or
``"support"`` choose one. Which tables each is exact for is decided in
:mod:`virtio_notifier_spec.spec.fragment`: a table whose queues are not
interchangeable is refused with a :class:`~.symmetry.SymmetryError`; one
outside the support fragment, with a :class:`~.symmetry.SupportError` when
``"support"`` was asked for, else the orbit search runs and the result
says why in its ``notes``.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> r = explore(load_spec("resolved"), 3, symmetry="orbits")
>>> r.ok, r.states, r.concrete_states
(True, 145, 422)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from virtio_notifier_spec.model.explore import (
    HYGIENE,
    INTERRUPTED,
    ON_THIS_MACHINE,
    Counterexample,
    Exploration,
    record_dead,
    unfired_sources,
)
from virtio_notifier_spec.model.explore import explore as explore_plain
from virtio_notifier_spec.model.trace import Trace
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.fragment import support_reason, witness_reason
from virtio_notifier_spec.spec.schema import Spec

from .packed_reduced import PackedReduced, packed_reduced_refusal
from .reduced import Finding, NotSupported, ReducedExplorer, relabel
from .symmetry import SupportError, support_cutoff, symmetry_refusal


def explore(
    spec: Spec,
    queues: int = 2,
    *,
    max_states: int | None = None,
    timeout: float | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    symmetry: bool | str = False,
    engine: str = "auto",
    workers: int = 1,
    depth: int | None = None,
    cluster=None,
) -> Exploration:
    """Explore ``spec`` for ``queues`` queues, reduced by symmetry when asked
    (see the module); ``engine``, ``workers``, ``cluster`` and ``depth`` as
    for the plain explorer (a reduced search is bounded by its own depth: an
    orbit's is its states', a support set's that of the abstract search)."""
    mode, notes = _reduction(spec, queues, symmetry)
    if mode == "none":
        return explore_plain(
            spec,
            queues,
            max_states=max_states,
            timeout=timeout,
            progress=progress,
            engine=engine,
            workers=workers,
            depth=depth,
            cluster=cluster,
        )
    limits = {"max_states": max_states, "timeout": timeout, "progress": progress, "depth": depth}
    result = _explore_reduced(spec, queues, mode, notes, engine, **limits)
    return result.noted(ON_THIS_MACHINE) if cluster is not None else result


#: Up to this many queues ``symmetry=True`` explores orbits (exact counts of
#: states, comparable with other checkers); above it, the support abstraction.
ORBIT_LIMIT = 8


def explore_every(
    spec: Spec, largest: int, *, smallest: int = 1, timeout: float | None = None, **limits
) -> list[Exploration]:
    """Verdicts for every queue count from ``smallest`` to ``largest``: one
    support run at ``largest`` decides every N at or above the table's cutoff
    (:func:`~virtio_notifier_spec.spec.fragment.support_cutoff`); an orbit
    search decides each smaller N. A table outside the support fragment is
    refused (:class:`~.symmetry.SupportError`) unless ``largest`` is at most
    :data:`ORBIT_LIMIT`: then every N is an orbit search. ``timeout`` is for
    all the runs together: once it has passed, or a run was interrupted, the
    counts not yet run are left out (the caller sees which are missing).

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> runs = explore_every(load_spec("resolved"), 64)
    >>> [r.queues for r in runs], runs[-1].cutoff, all(r.ok for r in runs)
    ([64], 1, True)
    """
    deadline = None if timeout is None else time.monotonic() + timeout

    def left() -> float | None:
        return None if deadline is None else max(deadline - time.monotonic(), 0.001)

    def stopped(runs: list[Exploration]) -> bool:
        interrupted = any(r.partial == INTERRUPTED for r in runs)
        return interrupted or (deadline is not None and time.monotonic() >= deadline)

    reason = support_reason(spec)
    if reason is not None:
        if largest > ORBIT_LIMIT:
            raise reason.error(
                SupportError,
                f"; the support abstraction cannot decide every N up to {largest}"
                f" (orbit searches decide up to {ORBIT_LIMIT} queues; check --symmetry decides one N)",
            )
        note = f"support abstraction refused, every N is an orbit search: {reason}"
        every: list[Exploration] = []
        for n in range(smallest, largest + 1):
            if every and stopped(every):
                break
            every.append(explore(spec, n, symmetry="orbits", timeout=left(), **limits).noted(note))
        return every
    cutoff = support_cutoff(spec)
    top = explore(spec, largest, symmetry="support" if largest >= cutoff else "orbits", timeout=left(), **limits)
    below = top.cutoff if top.cutoff is not None else largest
    smaller: list[Exploration] = []
    for n in range(smallest, min(below, largest)):
        if stopped([top, *smaller]):
            break
        smaller.append(explore(spec, n, symmetry="orbits", timeout=left(), **limits))
    return [*smaller, top]


def _reduction(spec: Spec, queues: int, symmetry: bool | str) -> tuple[str, tuple[str, ...]]:
    """The search to run and the notes that say why it is not the one asked for."""
    if symmetry is False or symmetry == "none":
        return "none", ()
    if symmetry not in (True, "auto", "orbits", "support"):
        raise ValueError(f"symmetry must be a bool, 'auto', 'orbits' or 'support', not {symmetry!r}")
    refusal = symmetry_refusal(spec)
    if refusal is not None:
        raise refusal
    reason = support_reason(spec)
    if symmetry == "support" and reason is not None:
        raise reason.error(SupportError, "; the support abstraction would be unsound (use --symmetry orbits)")
    if symmetry == "orbits" or (symmetry in (True, "auto") and queues <= ORBIT_LIMIT):
        return "orbits", _witness_notes(spec)
    if reason is not None:
        return "orbits", (f"support abstraction refused, orbit search instead: {reason}", *_witness_notes(spec))
    cutoff = support_cutoff(spec)
    if queues < cutoff:
        note = f"the support abstraction is exact from {cutoff} queues on; orbit search at {queues}"
        return "orbits", (note, *_witness_notes(spec))
    return "support", ()


def _witness_notes(spec: Spec) -> tuple[str, ...]:
    reason = witness_reason(spec)
    if reason is None:
        return ()
    return (f"every queue is stepped, not one per class: {reason}",)


@dataclass(frozen=True, eq=False)
class _Search:
    """What a reduced search found, whichever engine ran it; ``tracer`` is the
    reduced explorer whose records turn findings into concrete traces."""

    states: int
    edges: int
    depth: int
    partial: str | None
    fired: dict[str, int]
    fired_from: set[tuple[str, str]]
    found: dict[str, Finding]
    tracer: ReducedExplorer
    concrete: Callable[[], int]


def _search(spec: Spec, queues: int, mode: str, engine: str, want=None, **limits) -> _Search:
    """Run the ``mode`` search: packed (:mod:`.packed_reduced`) where it serves the table, else general."""
    if engine != "general" and packed_reduced_refusal(spec, queues) is None:
        packed = PackedReduced(spec, queues, mode, want=want, **limits)
        depth, partial = packed.run_search()
        return _Search(
            packed.codes.size,
            packed.edges,
            depth,
            partial,
            packed.fired_counts(),
            packed.fired_from(),
            packed.findings(),
            packed.general,
            packed.concrete_states,
        )
    general = ReducedExplorer(spec, queues, mode, want=want, **limits)
    depth, partial = general.run()
    return _Search(
        len(general.parent),
        general.edges,
        depth,
        partial,
        general.fired,
        general.fired_from,
        general.found,
        general,
        general.concrete_states,
    )


def _explore_reduced(
    spec: Spec, queues: int, mode: str, notes: tuple[str, ...], engine: str = "auto", **limits
) -> Exploration:
    began = time.perf_counter()
    ends = None if limits.get("timeout") is None else time.monotonic() + limits["timeout"]

    def left() -> dict:  # one --timeout for every search this run makes
        return limits if ends is None else {**limits, "timeout": max(ends - time.monotonic(), 0.001)}

    if mode == "support":
        try:
            run = _search(spec, queues, "support", engine, **left())
            return _support_result(spec, queues, run, began, engine, left())
        except NotSupported as exc:
            notes = (*notes, f"support abstraction gave up ({exc}), orbit search instead")
    run = _search(spec, queues, "orbits", engine, **left())
    found = _concrete_findings(run.tracer, run.found)
    concrete = None if run.partial else run.concrete()
    return _reduced_result(spec, queues, run, found, began, "orbits", concrete=concrete, notes=notes)


def _support_result(spec, queues, run: _Search, began, engine, limits) -> Exploration:
    """Verdicts from the support abstraction; traces from an orbit search
    at N that stops once it has one for every failing check."""
    found: dict[str, Counterexample] = {}
    failing = frozenset(run.found)
    if failing:  # the verdict is the support search's; its trace may be deeper than its abstract depth
        tracer = _search(spec, queues, "orbits", engine, want=failing, **{**limits, "depth": None})
        found = _concrete_findings(tracer.tracer, tracer.found)
        for name in failing - set(found):
            found[name] = Counterexample(
                name, f"{name} fails (the search for a trace stopped early)", Trace(_start(run.tracer), ())
            )
    return _reduced_result(spec, queues, run, found, began, "support", cutoff=support_cutoff(spec))


def _start(explorer: ReducedExplorer) -> State:
    first = explorer.machine(1).initial_states()[0]
    return State(first.device, first.queues * explorer.queues)


def _reduced_result(
    spec, queues, run: _Search, found, began, mode, *, concrete=None, cutoff=None, notes=()
) -> Exploration:
    checks = (*[p.name for p in spec.properties], *HYGIENE)
    unfired = unfired_sources(spec, run.fired, run.fired_from)
    if run.partial is None:
        record_dead(run.fired, unfired, _start(run.tracer), found, spec.restricted)
    ordered = {name: found[name] for name in checks if name in found}
    return Exploration(
        spec,
        queues,
        run.states,
        run.edges,
        run.depth,
        run.fired,
        ordered,
        time.perf_counter() - began,
        run.partial,
        checks,
        reduction=mode,
        concrete_states=concrete,
        cutoff=cutoff,
        unfired_sources=unfired,
        notes=notes,
    )


def _concrete_findings(explorer: ReducedExplorer, findings: dict[str, Finding]) -> dict[str, Counterexample]:
    """Each finding of an orbit search as a concrete, replayable counterexample."""
    result = {}
    for name, f in findings.items():
        trace = explorer.concrete(f.orbit, f.edge)
        other = None
        message = f.message
        if f.kind in ("queue", "state") and "{q}" in message:
            message = message.replace("{q}", str(trace.last.queues.index(f.cls)))
        if f.kind == "history":
            other = _other_history(explorer, f, trace)
        result[name] = Counterexample(name, message, trace, other)
    return result


def _before_last(trace: Trace) -> State:
    return trace.steps[-2].post if len(trace.steps) > 1 else trace.start


def _other_history(explorer: ReducedExplorer, f: Finding, trace: Trace) -> Trace:
    """The second run of a history counterexample, renamed so that its last
    state before the step agrees with the first run's queue by queue."""
    machine = explorer.machine(explorer.queues)
    prop = next(p for p in explorer.spec.properties if p.name == f.name)
    slots = [explorer.layout.queue.index(n) for n in prop.inputs if n in explorer.layout.queue]
    pre, last = _before_last(trace), trace.steps[-1]
    if f.other[0] == "swap":  # two queues alike in the inputs that end apart: swap them
        key = f.other[1][0]
        candidates = [
            q for q, t in enumerate(pre.queues) if tuple(t[s] for s in slots) == key and q != last.event.target
        ]
        a = next(q for q in candidates if last.post.queues[q] != last.post.queues[candidates[0]])
        perm = list(range(explorer.queues))
        perm[a], perm[candidates[0]] = candidates[0], a
        return relabel(trace, perm, machine)
    other = explorer.concrete(*f.other)
    pre2, last2 = _before_last(other), other.steps[-1]

    def keys(state: State, target) -> dict[tuple, list[int]]:
        groups: dict[tuple, list[int]] = {}
        for q, t in enumerate(state.queues):
            groups.setdefault((tuple(t[s] for s in slots), q == target), []).append(q)
        return groups

    mine, theirs = keys(pre, last.event.target), keys(pre2, last2.event.target)
    perm = list(range(explorer.queues))
    for key, qs in theirs.items():
        for q2, q1 in zip(qs, mine[key], strict=True):
            perm[q2] = q1
    return relabel(other, perm, machine)
