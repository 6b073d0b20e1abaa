"""The real designs judged on liveness, in their callers' environment.

A breadth-first search of the design's own states, as :mod:`.analysis`
makes (its abstraction as the table's state, its bookkeeping, which
eventfd each registration and reader uses), keeping every step: the graph
on which ``model/liveness.py`` decides the table's ``leads_to``,
``recoverable`` and ``deadlock_free`` properties under the events'
fairness, read on the design's abstract states with the environment's
conditions (the profile's ``when``). A step on which the design aborts is no
step (the hypervisor is gone; the run may only stay where it was). A
failure is a lasso of the design's events and abstract states;
:func:`liveness_verdicts` gives the matrix its rows, a lasso's stem and one
round of its cycle being the run written as a trace. A property whose
premise no state or step of the design meets is not asked of it (n/a).

>>> from virtio_notifier_spec.designs.catalogue import entry
>>> run = judge_liveness(entry("qemu_2011"), queues=1)
>>> run.verdict("fast_path_after_release")
'fails'
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, replace

from virtio_notifier_spec.model.graph import StateGraph
from virtio_notifier_spec.model.liveness import LivenessRun, check_graph, failure_text
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.model.trace import Step
from virtio_notifier_spec.spec.concrete import State, compile_expr
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import Liveness, PropertyKind

from .analysis import HOLDS, NOT_APPLICABLE, VIOLATED, PropertyVerdict, Sequence, _host, replay, start_sequences
from .catalogue import Entry
from .host import DesignAbort


@dataclass(frozen=True)
class DesignGraph(StateGraph):
    """A design's reachable graph: several nodes may share one abstract
    state (``states[i]``); a step is the design's, with no row of the table."""

    def step(self, state: State, inst_id: int, post: State) -> Step:
        return DesignStep(self.machine.instances[inst_id], (), post)


def design_graph(entry: Entry, queues: int) -> DesignGraph:
    """Every state ``entry``'s design reaches in its environment, every step kept."""
    spec = load_spec(entry.table, env=entry.env)
    machine = Machine(spec, queues)
    keys: dict[tuple, int] = {}
    runs: list[Sequence] = []
    states: list[State] = []
    parent: list[tuple[int, int] | None] = []
    depth: list[int] = []
    frontier: deque[int] = deque()

    def admit(sequence: Sequence, link, level: int) -> int | None:
        try:
            run, _ = replay(entry, sequence, spec)
        except DesignAbort:
            return None
        key = (run.state(spec), run.design.internal(), _host(run))
        node = keys.get(key)
        if node is None:
            node = keys[key] = len(states)
            runs.append(sequence)
            states.append(key[0])
            parent.append(link)
            depth.append(level)
            frontier.append(node)
        return node

    starts = []
    for sequence in start_sequences(entry, machine):
        node = admit(sequence, None, 0)
        if node is not None and node not in starts:
            starts.append(node)
    succ: list[tuple[tuple[int, int], ...]] = []
    stuck: list[int] = []
    while frontier:
        u = frontier.popleft()
        sequence, steps, offered = runs[u], [], False
        for inst in machine.instances:
            if not machine.enabled(states[u], inst):
                continue
            offered = True
            longer = Sequence(sequence.limited, sequence.served, (*sequence.events, inst))
            v = admit(longer, (u, inst.id), depth[u] + 1)
            if v is not None:
                steps.append((v, inst.id))
        if not offered:
            stuck.append(u)
        succ.append(tuple(steps))
    return DesignGraph(
        machine, tuple(states), {}, tuple(starts), tuple(succ), tuple(parent), tuple(depth), tuple(stuck)
    )


@dataclass(frozen=True, slots=True, eq=False)
class DesignStep(Step):
    """A step of a design: its own code ran, not a row of the table."""

    def rows(self) -> str:
        return "the design's step"


def judge_liveness(entry: Entry, queues: int = 2, graph: DesignGraph | None = None) -> LivenessRun:
    """The table's liveness verdicts on ``entry``'s design, in its environment."""
    began = time.perf_counter()
    graph = graph or design_graph(entry, queues)
    spec = replace(graph.machine.spec, name=entry.name)
    return check_graph(spec, graph, began=began, note=f"design {entry.name}, env {entry.env}")


def liveness_verdicts(entry: Entry, queues: int = 2) -> tuple[PropertyVerdict, ...]:
    """The matrix's verdict on each liveness property: holds, violated (with
    the lasso's run) or n/a (its premise is never met in this design)."""
    graph = design_graph(entry, queues)
    run = judge_liveness(entry, queues, graph)
    found = []
    for prop in run.spec.liveness:
        failure = run.failures.get(prop.name)
        if failure is not None:
            lasso = failure.lasso
            start = lasso.stem.start
            layout = graph.machine.layout
            sequence = Sequence(
                start.device[layout.device.index("limited")],
                tuple(q[layout.queue.index("vhost_serves")] for q in start.queues),
                tuple(step.event for step in (*lasso.stem.steps, *lasso.cycle)),
            )
            reason = _reason(prop, len(lasso.stem), len(lasso.cycle))
            found.append(PropertyVerdict(prop.name, VIOLATED, reason=reason, sequence=sequence))
        elif not _asked(graph, prop):
            found.append(PropertyVerdict(prop.name, NOT_APPLICABLE, reason="its premise never holds in this design"))
        else:
            found.append(PropertyVerdict(prop.name, HOLDS))
    return tuple(found)


def _reason(prop: Liveness, stem: int, cycle: int) -> str:
    if prop.kind is PropertyKind.RECOVERABLE:
        return f"after {stem} step(s) no run reaches the goal"
    if prop.kind is PropertyKind.DEADLOCK_FREE:
        return f"after {stem} step(s) nothing is enabled"
    then = f"its {cycle} step(s) after that for ever" if cycle else "nothing for ever"
    return f"a lasso: {stem} step(s), then {then}"


def _asked(graph: DesignGraph, prop: Liveness) -> bool:
    """Whether some reachable state (or step, for a step premise) meets the premise."""
    if prop.kind is PropertyKind.DEADLOCK_FREE or prop.premise is None:
        return True
    premise = compile_expr(prop.premise, graph.machine.layout)
    queues = range(graph.machine.queues) if prop.per_queue else (0,)
    for u, state in enumerate(graph.states):
        for q in queues:
            if not prop.events and premise(state, None, {}, q):
                return True
            for v, inst_id in graph.succ[u] if prop.events else ():
                inst = graph.machine.instances[inst_id]
                if inst.event.name in prop.events and premise(state, graph.states[v], inst.values, q):
                    return True
    return False


__all__ = ["DesignGraph", "design_graph", "failure_text", "judge_liveness", "liveness_verdicts"]
