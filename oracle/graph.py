"""The graph the oracle walks to make tests and examples: the table's
reachable states, or one node per orbit of the permutations of the queues.

Both graphs give a node's *moves*: from a concrete state of the node (its
representative), each event the environment can issue, the rows it fires
on concrete queues and the state after. A run found in either graph is a
run of the table on N concrete queues, so it can be sent to an
implementation as it is.

Both are graphs of the host the oracle tests on (:mod:`.host`): a step that
needs a slot the host does not have is not one of their moves.

- :class:`StateGraph`: every concrete state; a (state, event) pair is one key.
- :class:`OrbitGraph`: for tables whose queues are interchangeable
  (:func:`virtio_notifier_spec.scale.symmetry.symmetry_refusal` says none is
  refused), one node per orbit, stepped on a witness by the orbit search of
  :mod:`virtio_notifier_spec.scale.reduced`. Renaming the queues of a run
  gives a run, with the same rows firing on the renamed queues; so the pairs
  (orbit, event class), where the class of an event is its name, its other
  arguments and the state of the queue it targets, stand for every concrete
  (state, event) pair up to a renaming. At 8 queues that is 24,408 pairs
  instead of millions.

:func:`shortest_run` finds a shortest run from some starts to one of a set of
concrete states, within a budget, in either graph (orbits when the table
allows it): breadth-first order over orbits is breadth-first order over
states, and the run found is renamed to end in the very state asked for.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.model.machine import Machine
>>> spec = load_spec("resolved")
>>> graph = graph_for(spec, 8)
>>> graph.reduction
'orbits'
>>> m = graph.machine
>>> start = m.initial_states()[0]
>>> on = m.instance("set_status", value="driver_ok", assign_ok=True)
>>> target = m.step(m.step(start, on).choices[0].post, m.instance("kick", queue=5)).choices[0].post
>>> [str(i) for i in shortest_run(graph, [start], {target}).events]
['set_status(value=driver_ok, assign_ok=true)', 'kick(queue=5)']
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.scale.reduced import ReducedExplorer
from virtio_notifier_spec.scale.symmetry import counted, symmetry_refusal
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec

from .host import HostMachine

#: Above this many queues, ``symmetry="auto"`` walks orbits: the concrete
#: graph of ``resolved`` has 1,516 states at 4 queues and 462,796 at 8.
PLAIN_LIMIT = 3
#: The default budget of :func:`shortest_run`.
SEARCH_NODES = 200_000
SEARCH_SECONDS = 5.0
_CACHE_LIMIT = 20_000  # witness steps the orbit search may keep (a cache; cleared when full)


class Move(NamedTuple):
    """One step out of a node, taken from its concrete representative."""

    key: Hashable  # the (state, event) pair it covers, up to what the graph distinguishes
    inst: Instance
    fired: tuple  # ((queue, row), ...)
    post: State
    node: Hashable  # the node of ``post``


class StateGraph:
    """Every concrete state of the table at ``queues`` queues."""

    reduction = "none"

    def __init__(self, spec: Spec, queues: int, machine: Machine | None = None) -> None:
        self.spec = spec
        self.queues = queues
        self.machine = machine or HostMachine(spec, queues)
        self.index = {(i.event.name, i.args): i for i in self.machine.instances}

    def node(self, state: State) -> Hashable:
        return state

    def pair_key(self, state: State, inst: Instance) -> Hashable:
        return (state, inst.id)

    def queue_class(self, state: State, q: int) -> Hashable:
        """What a queue is known by across a step: itself."""
        return q

    def moves(self, node: Hashable, state: State) -> list[Move]:
        machine = self.machine
        found = []
        for inst in machine.instances:
            if machine.enabled(state, inst):
                for choice in machine.step(state, inst).choices:
                    found.append(Move((state, inst.id), inst, choice.fired, choice.post, choice.post))
        return found

    def retarget(self, inst: Instance, queue: int) -> Instance:
        """``inst`` aimed at ``queue`` instead of its target."""
        target = inst.event.target
        if target is None:
            return inst
        return self.index[(inst.event.name, tuple((k, queue if k == target else v) for k, v in inst.args))]

    def match(self, events: tuple[Instance, ...], reached: State, target: State) -> tuple[Instance, ...]:
        """``events`` (a run ending in ``reached``) renamed to end in ``target``."""
        return events


class OrbitGraph(StateGraph):
    """One node per orbit of the queue permutations (see the module)."""

    reduction = "orbits"

    def __init__(self, spec: Spec, queues: int, machine: Machine | None = None) -> None:
        self.explorer = ReducedExplorer(spec, queues, "orbits")
        super().__init__(spec, queues, machine)
        self.shape = {
            i.id: (i.event.name, tuple((k, v) for k, v in i.args if k != i.event.target))
            for i in self.machine.instances
        }

    def node(self, state: State) -> Hashable:
        return (state.device, counted(state.queues))

    def pair_key(self, state: State, inst: Instance) -> Hashable:
        target = inst.target
        return (self.node(state), self.shape[inst.id], None if target is None else state.queues[target])

    def queue_class(self, state: State, q: int) -> Hashable:
        """What a queue is known by across a step: its tuple of values."""
        return state.queues[q]

    def moves(self, node: Hashable, state: State) -> list[Move]:
        explorer = self.explorer
        if len(explorer.step_cache) > _CACHE_LIMIT:
            explorer.step_cache.clear()
        found = []
        fits = getattr(self.machine, "fits", None)
        for edge in explorer.successors(node):
            step = explorer.apply(state, edge)
            if fits is not None and not fits(step.post):
                continue  # the host has no slot for it (oracle/host.py)
            post = explorer.target_of(node, edge)
            found.append(Move(self.pair_key(state, step.event), step.event, step.fired, step.post, post))
        return found

    def match(self, events: tuple[Instance, ...], reached: State, target: State) -> tuple[Instance, ...]:
        if reached == target:
            return events
        where: dict[tuple, list[int]] = {}
        for q, t in enumerate(target.queues):
            where.setdefault(t, []).append(q)
        perm = [0] * len(reached.queues)
        for q, t in enumerate(reached.queues):
            perm[q] = where[t].pop(0)
        return tuple(self.retarget(i, perm[i.target]) if i.target is not None else i for i in events)


def symmetric_refusal(spec: Spec) -> str | None:
    """Why the orbit graph cannot be used for ``spec`` (None: it can)."""
    refusal = symmetry_refusal(spec)
    return None if refusal is None else str(refusal)


def graph_for(spec: Spec, queues: int, symmetry: bool | str = "auto", machine: Machine | None = None) -> StateGraph:
    """The orbit graph when ``symmetry`` is True, or ``"auto"`` above
    :data:`PLAIN_LIMIT` queues, and the table allows it; else every state.
    ``symmetry=True`` on a table outside the fragment raises its
    :class:`~virtio_notifier_spec.scale.symmetry.SymmetryError`."""
    if symmetry is True:
        refusal = symmetry_refusal(spec)
        if refusal is not None:
            raise refusal
        return OrbitGraph(spec, queues, machine)
    if symmetry == "auto" and queues > PLAIN_LIMIT and symmetry_refusal(spec) is None:
        return OrbitGraph(spec, queues, machine)
    return StateGraph(spec, queues, machine)


class BreadthFirst:
    """Breadth-first over a graph from concrete starts: iterate it for
    (node, representative, moves); ``path(node)`` is a shortest run to it."""

    def __init__(self, graph: StateGraph, starts: Iterable[State]) -> None:
        self.graph = graph
        self.parent: dict[Hashable, tuple[Hashable, Instance] | None] = {}
        self.rep: dict[Hashable, State] = {}
        self.frontier: deque[Hashable] = deque()
        for s in sorted(starts):
            node = graph.node(s)
            if node not in self.parent:
                self.parent[node] = None
                self.rep[node] = s
                self.frontier.append(node)

    def __iter__(self) -> Iterator[tuple[Hashable, State, list[Move]]]:
        while self.frontier:
            node = self.frontier.popleft()
            state = self.rep[node]
            moves = self.graph.moves(node, state)
            for move in moves:
                if move.node not in self.parent:
                    self.parent[move.node] = (node, move.inst)
                    self.rep[move.node] = move.post
                    self.frontier.append(move.node)
            yield node, state, moves

    def path(self, node: Hashable) -> tuple[Instance, ...]:
        events = []
        while (link := self.parent[node]) is not None:
            node, inst = link
            events.append(inst)
        return tuple(reversed(events))


@dataclass(frozen=True, slots=True)
class Search:
    """A shortest run to a target, or why none was found."""

    events: tuple[Instance, ...] | None
    nodes: int
    seconds: float
    reduction: str
    gave_up: str | None = None  # "nodes" or "seconds" when the budget ran out

    @property
    def why_not(self) -> str:
        if self.events is not None:
            return ""
        unit = "orbits" if self.reduction == "orbits" else "states"
        if self.gave_up:
            return f"none found within the search's budget ({self.nodes:,} {unit}, {self.seconds:.1f} s)"
        return f"no run of the table reaches it ({self.nodes:,} {unit} searched)"


def shortest_run(
    graph: StateGraph,
    starts: Iterable[State],
    targets: Iterable[State],
    *,
    max_nodes: int = SEARCH_NODES,
    seconds: float = SEARCH_SECONDS,
) -> Search:
    """A shortest run from one of ``starts`` to one of ``targets``, found
    within ``max_nodes`` nodes and about ``seconds``."""
    began = time.monotonic()
    wanted: dict[Hashable, State] = {}
    for t in sorted(targets, reverse=True):
        wanted[graph.node(t)] = t
    search = BreadthFirst(graph, starts)
    count = 0
    for node, state, _ in search:
        count += 1
        if node in wanted:
            events = graph.match(search.path(node), state, wanted[node])
            return Search(events, count, time.monotonic() - began, graph.reduction)
        spent = time.monotonic() - began
        if count >= max_nodes or spent > seconds:
            return Search(None, count, spent, graph.reduction, "nodes" if count >= max_nodes else "seconds")
    return Search(None, count, time.monotonic() - began, graph.reduction)
