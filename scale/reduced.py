"""Exploration of the queue-symmetry quotient, with concrete counterexamples.

Two reductions, both exact for the tables :mod:`.symmetry` accepts:

- ``orbits``: a state is ``(device, counts)``, how many queues hold each
  distinct per-queue tuple (one value per orbit of the permutations of the
  queues). A step is computed on a *witness*: one queue per class (plus a
  copy of the target's class when the event concerns one queue of a class
  of several), each standing for its count. Breadth-first order over orbits
  is breadth-first order over states (a renaming keeps the distance from
  the start), so every counterexample is a shortest one; it is rebuilt as
  a concrete run of N queues by replaying each step on a queue of the
  recorded class. States grow polynomially in N.
- ``support``: a state is ``(device, classes present)``. For a table of the
  independent-queues fragment (:mod:`virtio_notifier_spec.spec.fragment`)
  queues never influence each other, so the supports reachable with N
  queues are those of at most N classes, and a violation needs no more
  queues than the property names: the verdicts are exact for every N at or
  above ``support_cutoff(spec)`` (``scale/README.md`` gives the argument).
  A few hundred states decide the table for N = 1024. A failure found this
  way is shown with the shortest concrete trace from an ``orbits`` search
  at N that stops as soon as it has one for every failing check.

The orbit search steps one witness queue per class only when no expression
compares queues (:func:`.symmetry.needs_full_witness`); otherwise it steps
every queue of the orbit's representative, which is exact for every
symmetric table.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from virtio_notifier_spec.model.explore import INTERRUPTED, TIMEOUT, depth_stop
from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.model.trace import Step, Trace
from virtio_notifier_spec.spec.concrete import State, compile_expr
from virtio_notifier_spec.spec.expr import is_local
from virtio_notifier_spec.spec.schema import Property, PropertyKind, Spec, Transition

from .symmetry import expand, needs_full_witness, orbit_size, support_refusal

Orbit = tuple[tuple, tuple[tuple[tuple, int], ...]]  # (device, ((queue tuple, count), ...))


#: Report progress every this many states.
PROGRESS_EVERY = 20000


class Stop(Exception):
    """--max-states or --timeout was reached, or every wanted check was found."""


class _Split(Exception):
    """A witness queue standing for several queues has several outcomes."""


class NotSupported(Exception):
    """The support abstraction met a step it cannot count exactly."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One witness queue: its tuple before and after, the row that fired,
    how many queues it stands for, and whether it is the event's target."""

    pre: tuple
    post: tuple
    row: Transition | None
    weight: int
    target: bool


@dataclass(frozen=True, slots=True)
class Edge:
    """A reduced step: the event on the witness and what it did per class."""

    inst: Instance
    entries: tuple[Entry, ...]
    device: tuple
    pre: State  # the witness before the step
    post: State  # the witness after it


@dataclass(frozen=True, slots=True)
class Finding:
    """A failed check, before its trace is made concrete."""

    name: str
    kind: str  # "queue", "state", "step", "history"
    orbit: Orbit
    edge: Edge | None = None
    cls: tuple | None = None
    message: str = ""
    other: tuple | None = None  # history: (orbit, edge) of the other run, or a swap


class ReducedExplorer:
    """Breadth-first search over orbits (``orbits``) or supports (``support``)."""

    def __init__(
        self,
        spec: Spec,
        queues: int,
        mode: str,
        *,
        max_states: int | None = None,
        timeout: float | None = None,
        progress: Callable[[int, int, int], None] | None = None,
        want: frozenset[str] | None = None,
        depth: int | None = None,
    ) -> None:
        self.spec = spec
        self.bound = depth  # as the plain explorer's: the level at the bound is expanded, nothing new admitted
        self.cut = False
        self.queues = queues
        self.mode = mode
        self.full = needs_full_witness(spec) and mode == "orbits"
        if mode == "support" and support_refusal(spec):
            raise NotSupported(support_refusal(spec))
        self.max_states = max_states
        self.deadline = time.monotonic() + timeout if timeout else None
        self.progress = progress
        self.want = want
        self.machines: dict[int, Machine] = {}
        self.broadcast: dict[int, tuple[Instance, ...]] = {}
        self.by_target: dict[int, dict[int, list[Instance]]] = {}
        base = self.machine(1)
        self.layout = base.layout
        self.parent: dict[Orbit, tuple[Orbit, Edge] | None] = {}
        self.found: dict[str, Finding] = {}
        self.fired = {row.name: 0 for row in spec.transitions}
        self.fired_from: set[tuple[str, str]] = set()
        self.edges = 0
        props = spec.properties
        invariants = [(p, compile_expr(p.expr, self.layout)) for p in props if p.kind is PropertyKind.INVARIANT]
        self.local_invariants = [(p, f) for p, f in invariants if p.per_queue and is_local(p.expr)]
        self.other_invariants = [(p, f) for p, f in invariants if (p.per_queue, is_local(p.expr)) != (True, True)]
        self.steps = [(p, compile_expr(p.expr, self.layout)) for p in props if p.kind is PropertyKind.STEP]
        self.history = [p for p in props if p.kind is PropertyKind.HISTORY_FREE]
        self.history_seen: dict[tuple, tuple[tuple, Orbit, Edge]] = {}
        self.queue_memo: dict[tuple, tuple[str, ...]] = {}
        self.step_cache: dict[tuple, list] = {}

    def machine(self, k: int) -> Machine:
        if k not in self.machines:
            m = self.machines[k] = Machine(self.spec, k)
            self.broadcast[k] = tuple(i for i in m.instances if i.event.target is None)
            by_target: dict[int, list[Instance]] = {}
            for inst in m.instances:
                if inst.event.target is not None:
                    by_target.setdefault(inst.target, []).append(inst)
            self.by_target[k] = by_target
        return self.machines[k]

    # -- witnesses and steps --------------------------------------------------
    def witness(self, counts, target: int | None, split: bool) -> list[tuple[tuple, int, bool]]:
        """(tuple, weight, is target) per witness queue. ``target`` is a class
        index; ``split`` keeps other queues in the target's class."""
        if self.full:
            items = []
            for i, (t, n) in enumerate(counts):
                for copy in range(n):
                    items.append((t, 1, i == target and copy == 0))
            return items
        items = []
        for i, (t, n) in enumerate(counts):
            if i != target:
                items.append((t, n, False))
            elif split:  # in support mode a present class stays present
                items.append((t, 1 if self.mode == "support" else n - 1, False))
                items.append((t, 1, True))
            else:
                items.append((t, 1, True))
        return items

    def successors(self, orbit: Orbit) -> list[Edge]:
        try:
            return list(self._successors(orbit))
        except _Split:  # several rows for a class of several queues: step every queue
            self.full = True
            try:
                return list(self._successors(orbit))
            finally:
                self.full = False

    def _successors(self, orbit: Orbit):
        counts = orbit[1]
        yield from self._steps(orbit, self.witness(counts, None, False))
        for i, (_, n) in enumerate(counts):
            if self.mode == "support":
                variants = [True] if len(counts) == 1 and self.queues > 1 else [False, True]
            else:
                variants = [n > 1]
            for split in variants:
                yield from self._steps(orbit, self.witness(counts, i, split))

    def _steps(self, orbit: Orbit, items):
        """The edges out of ``orbit`` on the witness ``items``. What a witness does
        does not depend on the counts it stands for, so it is computed once."""
        key = (orbit[0], tuple((t, is_t) for t, _, is_t in items))
        results = self.step_cache.get(key)
        if results is None:
            results = self.step_cache[key] = self._witness_steps(orbit, items)
        for inst, pre, post, rows, ambiguous in results:
            if ambiguous:
                if self.mode == "support":  # a class of several queues could split between the rows
                    raise NotSupported("a step has several outcomes for one queue")
                if any(items[q][1] > 1 for q in ambiguous):
                    raise _Split
            entries = tuple(Entry(t, post.queues[j], rows.get(j), w, is_t) for j, (t, w, is_t) in enumerate(items))
            yield Edge(inst, entries, post.device, pre, post)

    def _witness_steps(self, orbit: Orbit, items) -> list:
        """[(instance, pre, post, rows by queue, ambiguous queues)] for the witness."""
        device = orbit[0]
        k = len(items)
        machine = self.machine(k)
        pre = State(device, tuple(t for t, _, _ in items))
        target = next((j for j, (_, _, is_t) in enumerate(items) if is_t), None)
        insts = self.broadcast[k] if target is None else self.by_target[k].get(target, ())
        results = []
        for inst in insts:
            if not machine.enabled(pre, inst):
                continue
            outcome = machine.step(pre, inst)
            if outcome.undefined:
                j = outcome.undefined[0]
                message = f"no row of the table says what {{inst}} does to queue {{q}} in state {items[j][0][0]}"
                self.report(Finding("complete", "state", orbit, cls=items[j][0], message=message), inst=inst)
            ambiguous = tuple(q for q, _ in outcome.ambiguous)
            if outcome.ambiguous:
                j, rows = outcome.ambiguous[0]
                message = f"{{inst}} fires both {' and '.join(r.name for r in rows)} on queue {{q}}"
                self.report(Finding("deterministic", "state", orbit, cls=items[j][0], message=message), inst=inst)
            for choice in outcome.choices:
                results.append((inst, pre, choice.post, dict(choice.fired), ambiguous))
        return results

    def target_of(self, orbit: Orbit, edge: Edge) -> Orbit:
        totals: dict[tuple, int] = {}
        for e in edge.entries:
            if e.weight:
                totals[e.post] = totals.get(e.post, 0) + e.weight
        if self.mode == "support":
            return edge.device, tuple(sorted((t, 1) for t in totals))
        return edge.device, tuple(sorted(totals.items()))

    # -- checks -----------------------------------------------------------------
    def report(self, finding: Finding, inst: Instance | None = None) -> None:
        if finding.name in self.found:
            return
        if inst is not None:  # a hygiene finding: keep the event for the message
            finding = Finding(
                finding.name,
                finding.kind,
                finding.orbit,
                finding.edge,
                finding.cls,
                finding.message.replace("{inst}", _shown(inst)),
                finding.other,
            )
        self.found[finding.name] = finding
        if self.want is not None and self.want <= set(self.found):
            raise Stop("found every failing check")

    def check_state(self, orbit: Orbit) -> None:
        device, counts = orbit
        for t, _ in counts:
            key = (device, t)
            failing = self.queue_memo.get(key)
            if failing is None:
                probe = State(device, (t,))
                failing = tuple(p.name for p, f in self.local_invariants if not f(probe, None, {}, 0))
                self.queue_memo[key] = failing
            for name in failing:
                message = f"queue {{q}} breaks {name} in the last state"
                self.report(Finding(name, "queue", orbit, cls=t, message=message))
        if not self.other_invariants:
            return
        items = self.witness(counts, None, False)
        witness = State(device, tuple(t for t, _, _ in items))
        for prop, f in self.other_invariants:
            qs = range(len(items)) if prop.per_queue else (0,)
            for q in qs:
                if not f(witness, None, {}, q):
                    self.report(
                        Finding(
                            prop.name,
                            "state",
                            orbit,
                            cls=items[q][0] if prop.per_queue else None,
                            message=f"{prop.name} is false in the last state",
                        )
                    )

    def check_step(self, orbit: Orbit, edge: Edge) -> None:
        name = edge.inst.event.name
        args = edge.inst.values
        for prop, f in self.steps:
            if name in prop.events and not f(edge.pre, edge.post, args, 0):
                message = f"{prop.name} is false across the last step"
                self.report(Finding(prop.name, "step", orbit, edge, message=message))
        for prop in self.history:
            if name in prop.events and prop.name not in self.found:
                self.check_history(prop, orbit, edge)

    def check_history(self, prop: Property, orbit: Orbit, edge: Edge) -> None:
        layout = self.layout
        dev_slots = [layout.device.index(n) for n in prop.inputs if n in layout.device]
        q_slots = [layout.queue.index(n) for n in prop.inputs if n in layout.queue]
        post_of: dict[tuple, tuple] = {}
        for e in edge.entries:
            key = (tuple(e.pre[s] for s in q_slots), e.target)
            if post_of.setdefault(key, e.post) != e.post:  # two queues alike in the inputs end apart
                self.report(
                    Finding(
                        prop.name,
                        "history",
                        orbit,
                        edge,
                        cls=(e.pre, post_of[key]),
                        message=self._history_message(prop, edge),
                        other=("swap", key),
                    )
                )
                return
        profile: dict[tuple, int] = {}
        for e in edge.entries:
            if e.weight:
                key = (tuple(e.pre[s] for s in q_slots), e.target)
                profile[key] = 1 if self.mode == "support" else profile.get(key, 0) + e.weight
        target_arg = edge.inst.event.target
        args = tuple((k, v) for k, v in edge.inst.args if k != target_arg)
        key = (
            prop.name,
            edge.inst.event.name,
            args,
            tuple(edge.pre.device[s] for s in dev_slots),
            tuple(sorted(profile.items())),
        )
        value = (edge.device, tuple(sorted((k, post_of[k]) for k in profile)))
        seen = self.history_seen.setdefault(key, (value, orbit, edge))
        if seen[0] != value:
            self.report(
                Finding(
                    prop.name,
                    "history",
                    orbit,
                    edge,
                    message=self._history_message(prop, edge),
                    other=(seen[1], seen[2]),
                )
            )

    @staticmethod
    def _history_message(prop: Property, edge: Edge) -> str:
        return (
            f"two histories that agree on {', '.join(prop.inputs)} and on the "
            f"arguments of {edge.inst.event.name} end in different states"
        )

    # -- the search ---------------------------------------------------------------
    def starts(self) -> list[Orbit]:
        if self.mode == "support":  # every non-empty set of initial queue tuples
            base = self.machine(1).initial_states()
            singles = sorted({s.queues[0] for s in base})
            devices = sorted({s.device for s in base}, key=repr)
            subsets = [
                tuple((t, 1) for t in chosen)
                for size in range(1, len(singles) + 1)
                for chosen in itertools.combinations(singles, size)
            ]
            return [(d, c) for d in devices for c in subsets]
        m = self.machine(1)
        singles = sorted({s.queues[0] for s in m.initial_states()})
        devices = sorted({s.device for s in m.initial_states()}, key=repr)
        orbits = []
        for device in devices:
            for combo in _multisets(singles, self.queues):
                orbits.append((device, combo))
        return orbits

    def run(self) -> tuple[int, str | None]:
        frontier: deque[tuple[Orbit, int]] = deque()
        depth = 0
        try:
            for start in self.starts():
                if start not in self.parent:
                    self.parent[start] = None
                    self.check_state(start)
                    frontier.append((start, 0))
            while frontier:
                orbit, level = frontier.popleft()
                depth = max(depth, level)
                for edge in self.successors(orbit):
                    self.edges += 1
                    for e in edge.entries:
                        if e.row is not None:
                            self.fired[e.row.name] += 1
                            self.fired_from.add((e.row.name, e.pre[0]))
                    self.check_step(orbit, edge)
                    post = self.target_of(orbit, edge)
                    if post not in self.parent and self.bound is not None and level >= self.bound:
                        self.cut = True
                    elif post not in self.parent:
                        self.parent[post] = (orbit, edge)
                        self.check_state(post)
                        frontier.append((post, level + 1))
                        self.admit(level + 1)
                if self.deadline is not None and time.monotonic() > self.deadline:
                    raise Stop(TIMEOUT)
        except Stop as stop:
            return depth, str(stop)
        except KeyboardInterrupt:  # keep what was found: the caller prints it
            return depth, INTERRUPTED
        return depth, depth_stop(self.bound) if self.cut else None

    def admit(self, level: int) -> None:
        count = len(self.parent)
        if self.progress is not None and count % PROGRESS_EVERY == 0:
            self.progress(count, self.edges, level)
        if self.max_states is not None and count >= self.max_states:
            raise Stop(f"stopped at --max-states {self.max_states}")

    def concrete_states(self) -> int:
        """How many concrete states the explored orbits stand for."""
        return sum(orbit_size(counts) for _, counts in self.parent)

    # -- concrete traces ------------------------------------------------------------
    def path(self, orbit: Orbit) -> list[tuple[Orbit, Edge]]:
        steps = []
        while (link := self.parent[orbit]) is not None:
            orbit, edge = link
            steps.append((orbit, edge))
        steps.reverse()
        return steps

    def concrete(self, orbit: Orbit, extra: Edge | None = None) -> Trace:
        """The run to ``orbit`` (then ``extra``) as N concrete queues."""
        path = self.path(orbit)
        start = path[0][0] if path else orbit
        state = State(start[0], expand(start[1]))
        first = state
        steps = []
        for _, edge in [*path, *([(orbit, extra)] if extra else [])]:
            step = self.apply(state, edge)
            steps.append(step)
            state = step.post
        return Trace(first, tuple(steps))

    def apply(self, state: State, edge: Edge) -> Step:
        machine = self.machine(self.queues)
        queues = list(state.queues)
        fired = []
        args = dict(edge.inst.args)
        target = next((e for e in edge.entries if e.target), None)
        if target is not None:
            j = queues.index(target.pre)
            args[edge.inst.event.target] = j
            queues[j] = target.post
            if target.row is not None:
                fired.append((j, target.row))
        else:
            pool: dict[tuple, list[list]] = {}
            for e in edge.entries:
                pool.setdefault(e.pre, []).append([e.post, e.row, e.weight])
            for q, t in enumerate(state.queues):
                slot = next(s for s in pool[t] if s[2] > 0)
                slot[2] -= 1
                queues[q] = slot[0]
                if slot[1] is not None:
                    fired.append((q, slot[1]))
        inst = machine.instance(edge.inst.event.name, **args)
        return Step(inst, tuple(fired), State(edge.device, tuple(queues)))


def _shown(inst: Instance) -> str:
    """The instance as text, its target queue left as ``{q}`` for the concrete index."""
    target = inst.event.target
    args = ", ".join(
        f"{k}={{q}}" if k == target else f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in inst.args
    )
    return f"{inst.event.name}({args})"


def _multisets(items: list, n: int):
    """Every way to put n queues into the given initial tuples, as counted forms."""
    if len(items) == 1:
        yield ((items[0], n),) if n else ()  # no class of zero queues: it would stand for a queue that is not there
        return
    head, rest = items[0], items[1:]
    for k in range(n, -1, -1):
        for tail in _multisets(rest, n - k):
            yield ((((head, k),) if k else ()) + tail)


def relabel(trace: Trace, perm: list[int], machine: Machine) -> Trace:
    """The same run with queue i renamed perm[i]."""

    def moved(state: State) -> State:
        queues = [None] * len(state.queues)
        for i, t in enumerate(state.queues):
            queues[perm[i]] = t
        return State(state.device, tuple(queues))

    steps = []
    for step in trace.steps:
        args = dict(step.event.args)
        if step.event.event.target is not None:
            args[step.event.event.target] = perm[step.event.target]
        inst = machine.instance(step.event.event.name, **args)
        fired = tuple(sorted(((perm[q], row) for q, row in step.fired), key=lambda x: x[0]))
        steps.append(Step(inst, fired, moved(step.post)))
    return Trace(moved(trace.start), tuple(steps))
