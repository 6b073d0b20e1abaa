"""The reachable state graph as a document other tools read: JSON, and text.

:func:`graph_json` writes a :class:`~.graph.StateGraph` as one JSON object
(``model/graph.schema.json``, the tests validate against it):

- ``states``: every state found, numbered in breadth-first order (``id``),
  each with its ``depth`` (a shortest path's length), its variables as
  traces write them (``device``, ``queues``), the invariants it breaks, and
  ``open`` when its steps are not all in the graph (the walk stopped
  before expanding it, or ``--depth`` cut a step further out);
- ``initial``: the ids of the initial states;
- ``edges``: every step, ``source`` to ``target``, with its event, its
  arguments, the row (and its letter) that fired on each queue and the
  step properties it breaks;
- ``deadlocks``: the states that offer no event; ``partial``: why the
  graph is not the whole reachable graph (``--max-states``, ``--depth``,
  ``--timeout``), or null.

The same graph gives the same bytes: states and edges are in the
explorer's order.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.model.graph import state_graph
>>> doc = graph_json(state_graph(load_spec("resolved"), 1))
>>> len(doc["states"]), len(doc["edges"]), doc["initial"], doc["partial"]
(38, 615, [0, 1], None)
>>> doc["edges"][0]["event"], doc["edges"][0]["fired"]
('set_status', [{'queue': 0, 'letter': None, 'transition': 'status_leaves_queue'}])
"""

from __future__ import annotations

import json
from pathlib import Path

from .graph import StateGraph
from .replay import Judge
from .trace import format_state, state_json

SCHEMA = Path(__file__).with_name("graph.schema.json")
FORMAT = "virtio-notifier-graph"
VERSION = 1


def graph_json(graph: StateGraph) -> dict:
    """``graph`` as one JSON object (see the module)."""
    machine = graph.machine
    spec = machine.spec
    judge = Judge(machine)
    states = []
    for node, state in enumerate(graph.states):
        states.append(
            {
                "id": node,
                "depth": graph.depth[node],
                **state_json(spec, state),
                "broken": _broken(judge.state(state)),
                "open": node in graph.open,
            }
        )
    edges = []
    for u, steps in enumerate(graph.succ):
        pre = graph.states[u]
        for v, inst_id in steps:
            step = graph.step(pre, inst_id, graph.states[v])
            edges.append(
                {
                    "source": u,
                    "target": v,
                    "event": step.event.event.name,
                    "args": step.event.values,
                    "fired": [{"queue": q, "letter": r.letter, "transition": r.name} for q, r in step.fired],
                    "broken": _broken(judge.step(pre, step.event, step.post)),
                }
            )
    return {
        "format": FORMAT,
        "version": VERSION,
        "variant": spec.name,
        "env": spec.env,
        "queues": machine.queues,
        "variables": {
            "device": [v.name for v in spec.device_variables],
            "queue": [v.name for v in spec.queue_variables],
        },
        "partial": graph.partial,
        "initial": list(graph.starts),
        "deadlocks": list(graph.stuck),
        "states": states,
        "edges": edges,
    }


def _broken(found: tuple[str, ...]) -> list[dict]:
    """``no_lost_kick (queue 0)`` as ``{"property": "no_lost_kick", "queue": 0}``."""
    broken = []
    for text in found:
        name, _, rest = text.partition(" (")
        queue = int(rest.removeprefix("queue ").rstrip(")")) if rest.startswith("queue ") else None
        broken.append({"property": name, "queue": queue})
    return broken


def graph_text(graph: StateGraph) -> str:
    """Every state and its steps, one line each (``s3 -> s5 kick(queue=0) [q0 ...]``)."""
    spec = graph.machine.spec
    head = f"{spec.name}, {graph.machine.queues} queue(s): {len(graph.states):,} states, {graph.edges:,} steps"
    lines = [head + (f" ({graph.partial})" if graph.partial else "")]
    starts = set(graph.starts)
    for u, state in enumerate(graph.states):
        marks = " start" if u in starts else ""
        marks += " open" if u in graph.open else ""
        marks += " deadlock" if u in graph.stuck else ""
        lines.append(f"s{u}{marks}: {format_state(spec, state)}")
        for v, inst_id in graph.succ[u]:
            step = graph.step(state, inst_id, graph.states[v])
            lines.append(f"  -> s{v} {step.event}  [{step.rows()}]")
    return "\n".join(lines) + "\n"


def schema() -> dict:
    """The JSON Schema of :func:`graph_json`'s document."""
    return json.loads(SCHEMA.read_text(encoding="utf-8"))
