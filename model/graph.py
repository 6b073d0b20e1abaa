"""The whole reachable graph of a table: every state and every step kept.

The explorer (:mod:`.explore`) only keeps a parent per state, enough for a
shortest trace to a bad state. Properties of infinite runs need the edges
too: :func:`state_graph` walks the machine breadth first, in the explorer's
order (same states, same numbering of steps), and keeps each step as
``(target, instance id)``. A step's rows are not stored; :meth:`StateGraph.trace`
replays a path through :class:`~.machine.Machine` to get them back.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> g = state_graph(load_spec("resolved"), 1)
>>> len(g.states), g.edges, len(g.starts), g.stuck
(38, 615, 2, ())
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec

from .explore import INTERRUPTED, depth_stop
from .machine import Machine
from .trace import Step, Trace


@dataclass(frozen=True)
class StateGraph:
    """Node ``i`` is ``states[i]`` (breadth-first order); ``succ[i]`` its
    steps as ``(target node, instance id)``; ``parent[i]`` the step that
    first reached it (a shortest path), ``depth[i]`` its length. ``stuck``:
    the nodes where no event is enabled. ``partial`` says why the walk
    stopped early (then the graph is not the whole reachable graph)."""

    machine: Machine
    states: tuple[State, ...]
    index: dict[State, int]
    starts: tuple[int, ...]
    succ: tuple[tuple[tuple[int, int], ...], ...]
    parent: tuple[tuple[int, int] | None, ...]
    depth: tuple[int, ...]
    stuck: tuple[int, ...]
    partial: str | None = None
    # the nodes whose steps are not all in the graph: not expanded (a walk
    # stopped early) or at the depth bound with a step further out
    open: frozenset[int] = frozenset()

    @property
    def edges(self) -> int:
        return sum(len(s) for s in self.succ)

    def preds(self) -> list[list[int]]:
        """For each node, the nodes with a step into it (each once)."""
        found: list[list[int]] = [[] for _ in self.states]
        for u, steps in enumerate(self.succ):
            for v in dict.fromkeys(v for v, _ in steps):
                found[v].append(u)
        return found

    def path_to(self, node: int) -> list[tuple[int, int]]:
        """A shortest path from a start to ``node``: [(instance id, node)]."""
        path = []
        while (link := self.parent[node]) is not None:
            path.append((link[1], node))
            node = link[0]
        return path[::-1]

    def start_of(self, node: int) -> int:
        while (link := self.parent[node]) is not None:
            node = link[0]
        return node

    def trace(self, start: int, path: Sequence[tuple[int, int]]) -> Trace:
        """The replayable trace of ``path`` ([(instance id, node)]) from node ``start``."""
        state = self.states[start]
        steps = []
        for inst_id, node in path:
            step = self.step(state, inst_id, self.states[node])
            steps.append(step)
            state = step.post
        return Trace(self.states[start], tuple(steps))

    def lasso_traces(
        self, start: int, stem: Sequence[tuple[int, int]], cycle: Sequence[tuple[int, int]]
    ) -> tuple[Trace, tuple[Step, ...]]:
        """The stem from node ``start``, and the cycle's steps from where it ends."""
        trace = self.trace(start, stem)
        state, steps = trace.last, []
        for inst_id, node in cycle:
            step = self.step(state, inst_id, self.states[node])
            steps.append(step)
            state = step.post
        return trace, tuple(steps)

    def posts(self, node: int, inst_id: int, target: int) -> tuple[State, ...]:
        """The states the machine's steps of ``inst_id`` from node ``node``
        land in, for the edge to node ``target``: a step property (a step
        premise) is read on these. Here ``states[target]`` itself; a reduced
        graph, whose nodes stand for classes, gives the concrete ones."""
        return (self.states[target],)

    def step(self, state: State, inst_id: int, post: State) -> Step:
        """The step of instance ``inst_id`` from ``state`` that lands in ``post``."""
        inst = self.machine.instances[inst_id]
        choice = next(c for c in self.machine.step(state, inst).choices if c.post == post)
        return Step(inst, choice.fired, choice.post)


def state_graph(
    spec: Spec,
    queues: int,
    *,
    max_states: int | None = None,
    timeout: float | None = None,
    canonical: Callable[[State], State] | None = None,
    kind: type[StateGraph] = StateGraph,
    depth: int | None = None,
) -> StateGraph:
    """Every reachable state and step of ``spec`` with ``queues`` queues; with
    ``canonical``, one state per class it picks (a reduction: ``kind`` then
    says how its paths are replayed, see ``scale/liveness.py``). With
    ``depth``, no state further than that from a start: the states at the
    bound keep their steps to states already met, and the graph is partial
    when one of them has a step to a state further out."""
    bound = depth  # the name is the per-node depths' below
    machine = Machine(spec, queues)
    canonical = canonical or (lambda state: state)
    deadline = time.monotonic() + timeout if timeout else None
    index: dict[State, int] = {}
    states: list[State] = []
    parent: list[tuple[int, int] | None] = []
    depth: list[int] = []
    succ: list[tuple[tuple[int, int], ...]] = []
    stuck: list[int] = []

    def admit(state: State, link: tuple[int, int] | None, level: int) -> int:
        node = index.get(state)
        if node is None:
            node = index[state] = len(states)
            states.append(state)
            parent.append(link)
            depth.append(level)
        return node

    starts = tuple(dict.fromkeys(admit(canonical(s), None, 0) for s in machine.initial_states()))
    cut_nodes: set[int] = set()
    full = False
    partial = None
    done = 0
    frontier = deque(starts)
    try:
        while frontier:
            u = frontier.popleft()
            state = states[u]
            steps = []
            offered = False
            for inst in machine.instances:
                if not machine.enabled(state, inst):
                    continue
                for choice in machine.step(state, inst).choices:
                    offered = True
                    post = canonical(choice.post)
                    if bound is not None and depth[u] >= bound and post not in index:
                        cut_nodes.add(u)
                        continue
                    if max_states is not None and len(states) >= max_states and post not in index:
                        cut_nodes.add(u)  # no more than max_states states
                        full = True
                        continue
                    before = len(states)
                    v = admit(post, (u, inst.id), depth[u] + 1)
                    if len(states) > before:
                        frontier.append(v)
                    steps.append((v, inst.id))
            if not offered:
                stuck.append(u)
            succ.append(tuple(steps))
            done += 1
            if max_states is not None and len(states) >= max_states and (frontier or full):
                partial = f"stopped at --max-states {max_states}"
            elif deadline is not None and done % 500 == 0 and time.monotonic() > deadline:
                partial = "stopped at --timeout"
            if partial:
                break
    except KeyboardInterrupt:  # keep what was found: the caller says it was interrupted
        partial = INTERRUPTED
    if partial is None and cut_nodes:
        partial = f"stopped at --max-states {max_states}" if full else depth_stop(bound)
    # nodes seen but not expanded (a partial walk) have no steps recorded
    unexpanded = range(len(succ), len(states))
    succ += [()] * (len(states) - len(succ))
    return kind(
        machine,
        tuple(states),
        index,
        starts,
        tuple(succ),
        tuple(parent),
        tuple(depth),
        tuple(stuck),
        partial,
        frozenset(cut_nodes) | frozenset(unexpanded),
    )
