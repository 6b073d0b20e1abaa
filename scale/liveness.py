"""Liveness under queue symmetry: which reduced graph decides which property,
and why the verdict is the one of the full graph.

Symmetry reduction is a known source of missed liveness violations: a cycle
of the quotient may be a path of the real machine that comes back to a
*renamed* state, so the queue a property follows, or the queue whose
handler fairness protects, is not the same queue after the cycle. So
:func:`check_liveness` with ``symmetry=True`` accepts a property only where
one of two arguments covers it, and refuses the rest with a
:class:`~.symmetry.SymmetryError` (exit 2) naming the property and the reason:

*Projection onto one queue* (a per-queue property, one about the target of
its step premise, or ``deadlock_free``). Its conditions, each checked on the
typed records by :func:`~virtio_notifier_spec.spec.fragment.projection_reason`:

1. the queues never influence each other: every row reads only the device
   and its own queue, every ``when`` and device effect only the device and
   the event's target, and no per-queue event writes the device;
2. no per-queue event is strongly fair;
3. the property reads the device and one queue only: its own (bare names),
   or the step's target when every event of its step premise concerns one
   queue; no quantifier;
4. a per-queue property whose premise is a step of a per-queue event: the
   premise is false on every step that changes neither the device nor the
   followed queue (Z3, :func:`~virtio_notifier_spec.spec.stutter.stutter_witness`).

Then (device, queue q) is a closed system whose runs are exactly those of
the one-queue machine, the other queues' steps being stutters (1). A fair
run of N queues that breaks the property for q projects to a fair run of one
queue that breaks it: the promises of q and of the device read only
(device, q); the projection may end stuttering, which fairness allows
exactly when no such promise is enabled; and a premise met on the N-queue
run is met on its projection, because a step premise is met only by a step
that moves the device or q (4), which the projection keeps, or, for a
property about the target, by the target's own step. Conversely a fair
one-queue counterexample is played by queue q of N queues while the other
queues follow the device-wide steps and, after every step, take each of
their weakly fair events that is enabled (2; a per-queue step touches only
its queue, so q's run is unchanged): a fair N-queue counterexample. So the
one-queue verdict is the verdict for every N >= 1; for ``recoverable``
(reachability, no fairness) the same lifting and projection of paths apply,
and a deadlocked one-queue state is reached by all N queues together (each
per-queue step played on every queue in turn), giving a deadlocked N-queue
state. Without (4) the projection is wrong: a per-queue ``leads_to`` whose
premise is "a kick while this queue is assigned" holds on one queue and
fails on two, where the other queue's kick meets the premise.

*Orbits* (a property that reads queues only through quantifiers, at the
requested N), when the property does not depend on per-queue fairness:
``recoverable`` and ``deadlock_free`` (no fairness at all), or a
``leads_to`` whose fair events are all device-wide
(:func:`~virtio_notifier_spec.spec.fragment.orbit_reason`). Renaming queues
maps runs to runs and keeps the property's truth and every fairness group (a
device-wide event is its own image), so the quotient by the permutations
is a bisimulation that preserves which groups are enabled and happen: a
fair cycle of the quotient, repeated until the renamings close it, is a
fair cycle of the machine, and every fair cycle of the machine maps to one
(the argument of Emerson and Sistla for symmetric fairness). A step premise
is read on the concrete step the machine takes from the orbit's
representative (:meth:`OrbitGraph.posts`), never on the sorted
representative of its successor: that would compare a queue before the
step with another queue after it. A lasso is replayed on concrete queues,
each step the image of the graph's step under the renaming of the
representative's queues.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> run = check_liveness(load_spec("resolved"), 4, symmetry=True)
>>> run.ok, run.reduction
(True, 'projection+orbits')
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from virtio_notifier_spec.model.graph import StateGraph, state_graph
from virtio_notifier_spec.model.liveness import LivenessRun, check_graph
from virtio_notifier_spec.model.liveness import check_liveness as check_plain
from virtio_notifier_spec.model.trace import Step, Trace
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.fragment import orbit_reason, projection_reason
from virtio_notifier_spec.spec.schema import Liveness, Spec

from .symmetry import SymmetryError, symmetry_refusal


def plan(spec: Spec, prop: Liveness) -> str:
    """``projection`` or ``orbits``: the reduced graph that decides ``prop``
    exactly (module docstring; the conditions are checked on the typed
    records by :func:`~virtio_notifier_spec.spec.fragment.projection_reason`
    and :func:`~virtio_notifier_spec.spec.fragment.orbit_reason`); a
    :class:`SymmetryError` naming both reasons when neither does."""
    refusal = symmetry_refusal(spec)
    if refusal is not None:
        raise refusal
    one = projection_reason(spec, prop)
    if one is None:
        return "projection"
    orbits = orbit_reason(spec, prop)
    if orbits is None:
        return "orbits"
    source = prop.source
    raise SymmetryError(
        f"{prop.name}: liveness under queue symmetry is not decided: not on one queue ({one.what}: {one.message}); "
        f"not on orbits ({orbits.what}: {orbits.message}) (use --no-symmetry)",
        file=source.file if source else None,
        line=source.line if source else None,
        field="properties",
    )


# -- the orbit graph ----------------------------------------------------------------


def canonical(state: State) -> State:
    """The representative of ``state``'s orbit: its queues sorted."""
    return State(state.device, tuple(sorted(state.queues)))


@dataclass(frozen=True)
class OrbitGraph(StateGraph):
    """A :class:`StateGraph` of orbit representatives. Its paths are
    replayed on concrete states, and a cycle is repeated until the renaming
    it makes closes (at most the order of a permutation of the queues)."""

    def posts(self, node: int, inst_id: int, target: int) -> tuple[State, ...]:
        """The concrete successors, from the orbit's representative, that land
        in orbit ``target``: a step premise is read on the step the machine
        takes, never on the sorted representative of where it lands."""
        state, wanted = self.states[node], self.states[target]
        inst = self.machine.instances[inst_id]
        found = (c.post for c in self.machine.step(state, inst).choices if canonical(c.post) == wanted)
        return tuple(dict.fromkeys(found))

    def step(self, state: State, inst_id: int, post: State) -> Step:
        """The concrete step from ``state`` that is the image of the graph's
        step of ``inst_id`` (taken from the orbit's sorted representative)
        under the renaming of the representative's queues onto ``state``'s,
        landing in orbit ``post``."""
        wanted = self.machine.instances[inst_id]
        target = wanted.event.target
        free: dict[tuple, list[int]] = {}
        for index, queue in enumerate(state.queues):
            free.setdefault(queue, []).append(index)
        rename = [free[queue].pop(0) for queue in sorted(state.queues)]
        args = {k: (rename[v] if k == target else v) for k, v in wanted.args}
        inst = self.machine.instance(wanted.event.name, **args)
        if self.machine.enabled(state, inst):
            for choice in self.machine.step(state, inst).choices:
                if canonical(choice.post) == post:
                    return Step(inst, choice.fired, choice.post)
        raise AssertionError("an orbit step has a concrete counterpart")  # pragma: no cover

    def lasso_traces(
        self, start: int, stem: Sequence[tuple[int, int]], cycle: Sequence[tuple[int, int]]
    ) -> tuple[Trace, tuple[Step, ...]]:
        trace = self.trace(start, stem)
        if not cycle:
            return trace, ()
        rounds: list[tuple[Step, ...]] = []
        entries = [trace.last]
        while True:
            state, steps = entries[-1], []
            for inst_id, node in cycle:
                step = self.step(state, inst_id, self.states[node])
                steps.append(step)
                state = step.post
            rounds.append(tuple(steps))
            if state in entries:
                first = entries.index(state)
                stem_steps = trace.steps + tuple(s for r in rounds[:first] for s in r)
                return Trace(trace.start, stem_steps), tuple(s for r in rounds[first:] for s in r)
            entries.append(state)


def orbit_graph(spec: Spec, queues: int, **limits) -> OrbitGraph:
    """One state per orbit of the queue permutations, breadth first."""
    return state_graph(spec, queues, canonical=canonical, kind=OrbitGraph, **limits)


def plans(spec: Spec, symmetry: bool | str) -> dict[str, str]:
    """Property -> ``none``, ``projection`` or ``orbits``. ``symmetry=True``
    refuses a property no reduction decides; ``"auto"`` checks it on every
    state instead."""
    if not symmetry:
        return {p.name: "none" for p in spec.liveness}
    chosen = {}
    for prop in spec.liveness:
        try:
            chosen[prop.name] = plan(spec, prop)
        except SymmetryError:
            if symmetry != "auto":
                raise
            chosen[prop.name] = "none"
    return chosen


_NOTES = {
    "projection": "per-queue properties and deadlock decided on one queue, for every N",
    "orbits": "quantified properties on one state per orbit",
    "none": "every state",
}


def check_every(
    spec: Spec, sizes, *, symmetry: bool | str = False, fair: bool = True, timeout: float | None = None, **limits
) -> list[LivenessRun]:
    """:func:`check_liveness` for each queue count of ``sizes``; what the
    projection decides is decided once, for all of them. ``timeout`` is for
    all the runs together; after a run that stopped early (``--max-states``,
    ``--timeout``, Ctrl-C) the larger counts are not run."""
    chosen = plans(spec, symmetry)
    ends = None if timeout is None else time.monotonic() + timeout
    once = None
    runs: list[LivenessRun] = []
    for n in sizes:
        if runs and (runs[-1].partial or (ends is not None and time.monotonic() >= ends)):
            break
        if ends is not None:
            limits["timeout"] = max(ends - time.monotonic(), 0.001)
        parts = []
        for mode in ("projection", "none", "orbits"):
            props = tuple(p for p in spec.liveness if chosen[p.name] == mode)
            if not props:
                continue
            part = replace(spec, liveness=props)
            if mode == "projection":
                once = once or check_plain(part, 1, fair=fair, **limits)
                parts.append((mode, once))
            elif mode == "orbits":
                parts.append((mode, check_graph(part, orbit_graph(part, n, **limits), fair=fair)))
            else:
                parts.append((mode, check_plain(part, n, fair=fair, **limits)))
        runs.append(_merge(spec, n, parts, fair))
    return runs


def check_liveness(
    spec: Spec, queues: int, *, symmetry: bool | str = False, fair: bool = True, **limits
) -> LivenessRun:
    """Every liveness property of ``spec`` with ``queues`` queues: on every
    state (``symmetry`` False), or each on the reduced graph that decides it
    exactly (:func:`plan`); a property none decides is refused
    (``symmetry=True``) or checked on every state (``"auto"``)."""
    return check_every(spec, (queues,), symmetry=symmetry, fair=fair, **limits)[0]


def _merge(spec: Spec, queues: int, parts: list[tuple[str, LivenessRun]], fair: bool) -> LivenessRun:
    failures = {name: f for _, r in parts for name, f in r.failures.items()}
    modes = [mode for mode, _ in parts]
    reduction = "+".join(m for m in modes if m != "none") or "none"
    if "none" in modes and reduction != "none":
        reduction += "+none"
    return LivenessRun(
        spec,
        queues,
        sum(r.states for _, r in parts),
        sum(r.edges for _, r in parts),
        {p.name: failures[p.name] for p in spec.liveness if p.name in failures},
        tuple(p.name for p in spec.liveness),
        sum(r.seconds for _, r in parts),
        "declared" if fair else "none",
        next((r.partial for _, r in parts if r.partial), None),
        reduction,
        "; ".join(_NOTES[m] for m in modes),
    )
