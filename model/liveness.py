"""Properties of infinite runs, decided on the whole reachable graph.

Runs are infinite and may *stutter*: the environment may do nothing for
ever (a guest may never write its status again), unless an event declared
fair is enabled. Fairness (``fairness`` on ``[[events]]``) is a promise per
*group*: the event, for one queue when it has a target (see
:class:`~virtio_notifier_spec.spec.schema.Fairness`). A run is fair when
every weakly fair group that is enabled in all its states from some point
on happens infinitely often, and every strongly fair group that is enabled
infinitely often happens infinitely often.

- ``leads_to``, ``premise ~> goal``: fails when a reachable state (or step)
  satisfies the premise and some fair run from there never satisfies the
  goal. Such a run ends in a *fair strongly connected component* of the
  states where the goal is false: for weak fairness, a component is fair
  when each weakly fair group is disabled somewhere in it or happens inside
  it; a strongly fair group enabled somewhere in it and never happening
  inside it removes the states where it is enabled, and what remains is
  decomposed again (Emerson and Lei's algorithm for Streett conditions).
  Every state may stutter, so a single state where no fair group is
  enabled is a fair component by itself.
- ``recoverable``: fails when a reachable state satisfying the premise
  cannot reach any state satisfying the goal (a backward search from the
  goal). Fairness plays no part: the question is whether some run recovers.
- ``deadlock_free``: fails when a reachable state offers no event.

A failure is a :class:`~.lasso.Lasso` whose stem is as short as possible:
a shortest path to the premise, then a shortest path inside the goal-free
states to a fair component, then a cycle in that component that keeps every
fairness promise.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> run = check_liveness(load_spec("resolved"), 1)
>>> run.ok, run.states
(True, 38)
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from virtio_notifier_spec.spec.concrete import State, compile_expr
from virtio_notifier_spec.spec.expr import QUEUE, Param, Var, walk
from virtio_notifier_spec.spec.profile import vacuous
from virtio_notifier_spec.spec.schema import Fairness, Liveness, PropertyKind, Spec
from virtio_notifier_spec.spec.text import to_text

from .explore import INTERRUPTED
from .graph import StateGraph, state_graph
from .lasso import Lasso
from .machine import Machine


@dataclass(frozen=True, slots=True)
class Group:
    """One fairness promise: ``event``, for queue ``queue`` when it has a target."""

    event: str
    queue: int | None
    kind: Fairness

    def __str__(self) -> str:
        return self.event if self.queue is None else f"{self.event}(queue={self.queue})"


def fairness_groups(machine: Machine, fair: bool = True) -> tuple[tuple[Group, ...], tuple[int | None, ...]]:
    """The groups of ``machine``'s table and, per instance id, its group
    (None: the event is not fair). ``fair=False`` drops every promise.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> groups, _ = fairness_groups(Machine(load_spec("resolved"), 2))
    >>> [str(g) for g in groups]
    ['handle(queue=0)', 'handle(queue=1)']
    """
    groups: dict[Group, int] = {}
    of_instance: list[int | None] = []
    for inst in machine.instances:
        kind = inst.event.fairness
        if not fair or kind is Fairness.NONE:
            of_instance.append(None)
            continue
        group = Group(inst.event.name, inst.target, kind)
        of_instance.append(groups.setdefault(group, len(groups)))
    return tuple(groups), tuple(of_instance)


def goal_queue_params(spec: Spec, prop: Liveness) -> list[str]:
    """The queue parameters of a step premise's events that its goal reads:
    the property is read once for each of their values."""
    events = [e for e in spec.events if e.name in prop.events]  # an environment may have removed some
    names = {p.name for e in events for p in e.params if p.type == QUEUE}
    return sorted(
        {n.index for n in walk(prop.goal) if isinstance(n, Var) and n.index in names}
        | {n.name for n in walk(prop.goal) if isinstance(n, Param) and n.name in names}
    )


@dataclass(frozen=True, slots=True)
class LivenessFailure:
    """Why a property fails: a lasso. For ``recoverable``, ``unrecoverable``
    lists every reachable premise state from which no run reaches the goal."""

    name: str
    message: str
    lasso: Lasso
    unrecoverable: tuple[State, ...] = ()


@dataclass(frozen=True)
class LivenessRun:
    """The verdicts of a table's liveness properties for ``queues`` queues.

    ``fairness`` is ``declared`` (the table's promises) or ``none``;
    ``reduction`` says which graph decided them (``none``: every state;
    see ``scale/liveness.py`` for the others), ``note`` why that is exact.
    """

    spec: Spec
    queues: int
    states: int
    edges: int
    failures: dict[str, LivenessFailure]
    checks: tuple[str, ...]
    seconds: float
    fairness: str = "declared"
    partial: str | None = None
    reduction: str = "none"
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures and self.partial is None

    @property
    def vacuous(self) -> dict[str, str]:
        """The properties whose step premise needs only events the environment
        does not issue, each with why: nothing was checked (not a pass)."""
        found = {p.name: vacuous(self.spec, p) for p in self.spec.liveness if p.name in self.checks}
        return {name: why for name, why in found.items() if why is not None}

    def verdict(self, name: str) -> str:
        if name in self.failures:
            return "fails"
        if self.partial:
            return "unknown"
        return "vacuous" if name in self.vacuous else "holds"


def failure_text(run: LivenessRun, name: str) -> str:
    """A failure as its headline and its lasso, replayable."""
    failure = run.failures[name]
    head = f"{run.spec.name}, {run.queues} queue(s): {name} FAILS: {failure.message}"
    return head + "\n" + failure.lasso.format(run.spec)


# -- strongly connected components and fair ones -------------------------------


class _Analysis:
    """The graph with its fairness: enabled groups per node, group per step."""

    def __init__(self, graph: StateGraph, fair: bool) -> None:
        self.graph = graph
        machine = graph.machine
        self.groups, self.inst_group = fairness_groups(machine, fair)
        fair_instances = [(inst, g) for inst in machine.instances if (g := self.inst_group[inst.id]) is not None]
        self.enabled = [
            frozenset(g for inst, g in fair_instances if machine.enabled(state, inst)) for state in graph.states
        ]
        self.targets = [list(dict.fromkeys(v for v, _ in steps)) for steps in graph.succ]
        self._preds: list[list[int]] | None = None

    @property
    def preds(self) -> list[list[int]]:
        if self._preds is None:
            self._preds = self.graph.preds()
        return self._preds

    def sccs(self, nodes: list[int], inside: bytearray) -> list[list[int]]:
        """Tarjan's components of the subgraph on ``nodes`` (``inside`` marks them)."""
        index: dict[int, int] = {}
        low: dict[int, int] = {}
        on_stack: set[int] = set()
        stack: list[int] = []
        found: list[list[int]] = []
        for root in nodes:
            if root in index:
                continue
            index[root] = low[root] = len(index)
            stack.append(root)
            on_stack.add(root)
            work = [(root, iter(self.targets[root]))]
            while work:
                u, successors = work[-1]
                for v in successors:
                    if not inside[v]:
                        continue
                    if v not in index:
                        index[v] = low[v] = len(index)
                        stack.append(v)
                        on_stack.add(v)
                        work.append((v, iter(self.targets[v])))
                        break
                    if v in on_stack:
                        low[u] = min(low[u], index[v])
                else:
                    work.pop()
                    if work:
                        parent = work[-1][0]
                        low[parent] = min(low[parent], low[u])
                    if low[u] == index[u]:
                        component = []
                        while True:
                            w = stack.pop()
                            on_stack.discard(w)
                            component.append(w)
                            if w == u:
                                break
                        found.append(component)
        return found

    def happening(self, component: list[int], inside: bytearray) -> set[int]:
        """The groups with a step inside ``component``."""
        groups = set()
        for u in component:
            for v, inst in self.graph.succ[u]:
                g = self.inst_group[inst]
                if g is not None and inside[v]:
                    groups.add(g)
        return groups

    def fair_components(self, allowed: bytearray) -> list[list[int]]:
        """The fair components of the subgraph of ``allowed`` nodes."""
        fair: list[list[int]] = []
        pending = [[u for u in range(len(allowed)) if allowed[u]]]
        while pending:
            nodes = pending.pop()
            inside = bytearray(len(allowed))
            for u in nodes:
                inside[u] = 1
            for component in self.sccs(nodes, inside):
                here = bytearray(len(allowed))
                for u in component:
                    here[u] = 1
                taken = self.happening(component, here)
                everywhere = frozenset.intersection(*(self.enabled[u] for u in component))
                if any(g not in taken for g in everywhere):
                    continue  # a group enabled all along and never happening: no sub-cycle helps
                somewhere = frozenset.union(*(self.enabled[u] for u in component))
                starved = {g for g in somewhere - taken if self.groups[g].kind is Fairness.STRONG}
                if not starved:
                    fair.append(sorted(component))
                    continue
                rest = [u for u in component if not self.enabled[u] & starved]
                if rest:
                    pending.append(rest)
        return fair

    def distances_to(self, sources: list[int], allowed: bytearray) -> list[int | None]:
        """Length of a shortest path inside ``allowed`` to some of ``sources``."""
        dist: list[int | None] = [None] * len(allowed)
        queue = deque(sources)
        for u in sources:
            dist[u] = 0
        preds = self.preds
        while queue:
            v = queue.popleft()
            for u in preds[v]:
                if allowed[u] and dist[u] is None:
                    dist[u] = dist[v] + 1
                    queue.append(u)
        return dist

    def descend(self, node: int, dist: list[int | None], allowed: bytearray) -> list[tuple[int, int]]:
        """A shortest path inside ``allowed`` from ``node`` down ``dist`` to 0."""
        path = []
        while dist[node]:
            inst, node = next((i, v) for v, i in self.graph.succ[node] if allowed[v] and dist[v] == dist[node] - 1)
            path.append((inst, node))
        return path

    def cycle(self, entry: int, component: list[int]) -> list[tuple[int, int]]:
        """A cycle from ``entry`` inside ``component`` that keeps every promise;
        [] when staying in ``entry`` for ever does."""
        if not self.enabled[entry]:
            return []
        inside = bytearray(len(self.graph.states))
        for u in component:
            inside[u] = 1
        everywhere = frozenset.intersection(*(self.enabled[u] for u in component))
        somewhere = frozenset.union(*(self.enabled[u] for u in component))
        # group -> True when only a step of it will do, False when a state where it is off will do too
        unmet = {g: g in everywhere or self.groups[g].kind is Fairness.STRONG for g in somewhere}
        path: list[tuple[int, int]] = []
        here = entry
        self._meet(unmet, here, None)
        while unmet:
            leg = self._nearest(here, inside, unmet)
            for inst, v in leg:
                self._meet(unmet, v, inst)
            path += leg
            here = leg[-1][1]
        if here != entry:
            path += self._route(here, entry, inside)
        return path

    def _meet(self, unmet: dict[int, bool], node: int, inst: int | None) -> None:
        for g, edge_only in list(unmet.items()):
            if (inst is not None and self.inst_group[inst] == g) or (not edge_only and g not in self.enabled[node]):
                del unmet[g]

    def _nearest(self, start: int, inside: bytearray, unmet: dict[int, bool]) -> list[tuple[int, int]]:
        """A shortest path from ``start`` that meets some unmet promise."""
        back: dict[int, tuple[int, int] | None] = {start: None}
        queue = deque([start])
        while queue:
            u = queue.popleft()
            for v, inst in self.graph.succ[u]:
                if not inside[v]:
                    continue
                hit = self.inst_group[inst] in unmet
                if not hit and v not in back:
                    hit = any(not edge_only and g not in self.enabled[v] for g, edge_only in unmet.items())
                if hit:
                    return [*self._unwind(back, u), (inst, v)]
                if v not in back:
                    back[v] = (u, inst)
                    queue.append(v)
        raise AssertionError("a fair component meets its promises")  # pragma: no cover

    def _route(self, start: int, goal: int, inside: bytearray) -> list[tuple[int, int]]:
        back: dict[int, tuple[int, int] | None] = {start: None}
        queue = deque([start])
        while queue:
            u = queue.popleft()
            for v, inst in self.graph.succ[u]:
                if inside[v] and v not in back:
                    back[v] = (u, inst)
                    if v == goal:
                        return self._unwind(back, goal)
                    queue.append(v)
        raise AssertionError("a component is strongly connected")  # pragma: no cover

    @staticmethod
    def _unwind(back: dict[int, tuple[int, int] | None], node: int) -> list[tuple[int, int]]:
        path = []
        while (link := back[node]) is not None:
            path.append((link[1], node))
            node = link[0]
        return path[::-1]


# -- the properties ---------------------------------------------------------------


class _Checker:
    def __init__(self, spec: Spec, graph: StateGraph, fair: bool) -> None:
        self.spec = spec
        self.graph = graph
        self.analysis = _Analysis(graph, fair)
        self.layout = graph.machine.layout
        self.queues = graph.machine.queues

    def compile(self, expr) -> Callable:
        if expr is None:
            return lambda pre, post, args, q: True
        return compile_expr(expr, self.layout)

    def check(self, prop: Liveness) -> LivenessFailure | None:
        if prop.kind is PropertyKind.DEADLOCK_FREE:
            return self.deadlock(prop)
        queues = range(self.queues) if prop.per_queue else (None,)
        for q in queues:
            check = self.recoverable if prop.kind is PropertyKind.RECOVERABLE else self.leads_to
            found = check(prop, q)
            if found is not None:
                return found
        return None

    # -- building lassos --------------------------------------------------------
    def lasso(self, stem_to: int, extra: list[tuple[int, int]], cycle: list[tuple[int, int]], **marks) -> Lasso:
        graph = self.graph
        path = graph.path_to(stem_to) + extra
        stem, steps = graph.lasso_traces(graph.start_of(stem_to), path, cycle)
        return Lasso(stem, steps, notes=self.fairness_notes(stem, steps), **marks)

    def fairness_notes(self, stem, cycle) -> tuple[str, ...]:
        """How the cycle keeps each promise: the group happens, or is off somewhere."""
        analysis, machine = self.analysis, self.graph.machine
        if not analysis.groups:
            return ("fairness: no event is fair",)
        first = len(stem)
        states = [stem.last, *(s.post for s in cycle[:-1])]
        kept, quiet = [], []
        for g, group in enumerate(analysis.groups):
            instances = [i for i in machine.instances if analysis.inst_group[i.id] == g]
            steps = [first + k + 1 for k, s in enumerate(cycle) if analysis.inst_group[s.event.id] == g]
            off = [first + k for k, s in enumerate(states) if not any(machine.enabled(s, i) for i in instances)]
            if steps:
                kept.append(f"{group} happens at step {steps[0]}")
            elif len(off) == len(states):
                quiet.append(str(group))
            else:
                kept.append(f"{group} is not enabled in state {off[0]}")
        if quiet:
            kept.append("never enabled in the cycle: " + ", ".join(quiet))
        return ("fairness kept: " + "; ".join(kept),)

    # -- leads_to ---------------------------------------------------------------------
    def escapes(self, goal: Callable, args: dict, q: int) -> tuple[bytearray, list[int | None], list[list[int]]]:
        """The goal-free states, each one's distance to a fair component of
        them (None: every fair run from there meets the goal), and the
        fair components."""
        graph, analysis = self.graph, self.analysis
        allowed = bytearray(not goal(s, None, args, q) for s in graph.states)
        components = analysis.fair_components(allowed)
        sources = [u for c in components for u in c]
        return allowed, analysis.distances_to(sources, allowed), components

    def run_from(self, node: int, escape: tuple) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """From ``node``: the path down to a fair component, and the cycle there."""
        allowed, dist, components = escape
        down = self.analysis.descend(node, dist, allowed)
        entry = down[-1][1] if down else node
        component = next(c for c in components if entry in c)
        return down, self.analysis.cycle(entry, component)

    def premises(self, prop: Liveness, premise: Callable, at: int):
        """Where the premise holds: (node, node where the run goes on, the
        step between them or -1, the step's arguments), for a state premise
        each premise state, for a step premise each step of its events."""
        graph = self.graph
        for u, state in enumerate(graph.states):
            if not prop.events:
                if premise(state, None, {}, at):
                    yield u, u, -1, {}
                continue
            for v, inst_id in dict.fromkeys(graph.succ[u]):
                inst = graph.machine.instances[inst_id]
                if inst.event.name not in prop.events:
                    continue
                if any(premise(state, post, inst.values, at) for post in graph.posts(u, inst_id, v)):
                    yield u, v, inst_id, inst.values

    def leads_to(self, prop: Liveness, q: int | None) -> LivenessFailure | None:
        premise, goal = self.compile(prop.premise), self.compile(prop.goal)
        at = q or 0
        read = goal_queue_params(self.spec, prop)
        depth = self.graph.depth
        escapes: dict[tuple, tuple] = {}
        best = None
        for u, v, inst_id, args in self.premises(prop, premise, at):
            key = tuple((name, args[name]) for name in read)
            if key not in escapes:
                escapes[key] = self.escapes(goal, dict(key), at)
            dist = escapes[key][1]
            if dist[v] is not None:
                cost = (depth[u] + (inst_id >= 0) + dist[v], u, inst_id, v, key)
                best = min(best, cost) if best else cost
        if best is None:
            return None
        _, u, inst_id, v, key = best
        down, cycle = self.run_from(v, escapes[key])
        who = f"queue {q}: " if q is not None else ""
        never = f"and on this fair run {to_text(prop.goal)} never holds from there"
        if inst_id < 0:
            lasso = self.lasso(u, down, cycle, premise_at=depth[u])
            message = f"{who}{to_text(prop.premise)} holds in state {depth[u]}, {never}"
        else:
            lasso = self.lasso(u, [(inst_id, v), *down], cycle, premise_at=depth[u] + 1, premise_step=True)
            inst = self.graph.machine.instances[inst_id]
            message = f"{who}step {depth[u] + 1}, {inst}, satisfies the premise, {never}"
        return LivenessFailure(prop.name, message, lasso)

    # -- recoverable, deadlock -------------------------------------------------------------
    def recoverable(self, prop: Liveness, q: int | None) -> LivenessFailure | None:
        premise, goal = self.compile(prop.premise), self.compile(prop.goal)
        at = q or 0
        states = self.graph.states
        targets = [u for u, s in enumerate(states) if goal(s, None, {}, at)]
        everywhere = bytearray(b"\x01" * len(states))
        dist = self.analysis.distances_to(targets, everywhere)
        stuck = [u for u, s in enumerate(states) if dist[u] is None and premise(s, None, {}, at)]
        if not stuck:
            return None
        s = min(stuck, key=lambda u: (self.graph.depth[u], u))
        seen = {s}
        queue = deque([s])
        while queue:
            for v in self.analysis.targets[queue.popleft()]:
                if v not in seen:
                    seen.add(v)
                    queue.append(v)
        depth = self.graph.depth[s]
        lasso = Lasso(*self.graph.lasso_traces(self.graph.start_of(s), self.graph.path_to(s), []), premise_at=depth)
        who = f"queue {q}: " if q is not None else ""
        message = (
            f"{who}from state {depth} no run reaches {to_text(prop.goal)}: "
            f"none of the {len(seen)} states reachable from it satisfies it"
        )
        return LivenessFailure(prop.name, message, lasso, tuple(states[u] for u in stuck))

    def deadlock(self, prop: Liveness) -> LivenessFailure | None:
        if not self.graph.stuck:
            return None
        s = self.graph.stuck[0]
        lasso = Lasso(*self.graph.lasso_traces(self.graph.start_of(s), self.graph.path_to(s), []))
        return LivenessFailure(prop.name, f"no event is enabled in state {self.graph.depth[s]}", lasso)


def check_graph(
    spec: Spec, graph: StateGraph, *, fair: bool = True, began: float | None = None, **extra
) -> LivenessRun:
    """The verdicts of every liveness property of ``spec`` on ``graph``."""
    began = time.perf_counter() if began is None else began
    checks = tuple(p.name for p in spec.liveness)
    failures: dict[str, LivenessFailure] = {}
    partial = graph.partial
    if partial is None:
        checker = _Checker(spec, graph, fair)
        try:
            for prop in spec.liveness:
                found = checker.check(prop)
                if found is not None:
                    failures[prop.name] = found
        except KeyboardInterrupt:  # the failures found so far stand; the rest is unknown
            partial = INTERRUPTED
    return LivenessRun(
        spec,
        graph.machine.queues,
        len(graph.states),
        graph.edges,
        failures,
        checks,
        time.perf_counter() - began,
        "declared" if fair else "none",
        partial,
        **extra,
    )


def check_liveness(
    spec: Spec,
    queues: int,
    *,
    fair: bool = True,
    max_states: int | None = None,
    timeout: float | None = None,
    depth: int | None = None,
) -> LivenessRun:
    """Every liveness property of ``spec`` with ``queues`` queues, on every
    reachable state; ``fair=False`` drops the table's fairness promises. A
    graph cut by ``max_states``, ``timeout`` or ``depth`` decides nothing:
    every verdict is unknown."""
    began = time.perf_counter()
    graph = state_graph(spec, queues, max_states=max_states, timeout=timeout, depth=depth)
    return check_graph(spec, graph, fair=fair, began=began)
