"""The reachable graph: every explored state and every step between them.

:func:`collect` walks the machine breadth first, in the explorer's order,
keeping the edges the explorer only counts. :func:`reachable_dot` draws it:
each state a node (device words, then a line per queue), each pair of
states one edge listing the steps between them (event and the rows that
fired), the starts marked, a state that breaks an invariant in red and a
step that breaks a step property red too. Steps that change nothing are
counted, not drawn.

Even 38 states make a hairball (each has a dozen steps), so a graph of more
than ``limit`` states is drawn as a quotient: states that agree on the
queues' own variables (notifier state and resources), up to the order of
the queues (the symmetry of identical queues), become one node carrying its
count of states and of bad ones; when that still has more than
``max_edges`` edges, states are grouped by the notifier states alone (the
per-queue projection). :func:`listing` writes every state and step as text
beside it.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> graph = collect(load_spec("resolved"), 1)
>>> len(graph.states), len(graph.starts)
(38, 2)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.model.trace import format_state
from virtio_notifier_spec.spec.concrete import State, compile_expr
from virtio_notifier_spec.spec.schema import PropertyKind, Spec, Transition

from .dot import Graph, Html, html_escape
from .labels import fired_label, queue_words, state_label, wrap
from .layout import FONT

LIMIT = 24
MAX_EDGES = 40
BAD = "#c0392b"
BAD_FILL = "#fde2df"


@dataclass(frozen=True, slots=True)
class Edge:
    """One step: from state number ``source`` to ``target``."""

    source: int
    target: int
    event: Instance
    fired: tuple[tuple[int, Transition], ...]
    broken: tuple[str, ...]  # step properties this step breaks

    def label(self) -> str:
        """``set_status b`` or, with several queues, ``set_status q0:b q1:b``."""
        single = len({q for q, _ in self.fired}) <= 1
        shown = [fired_label(r) if single else f"q{q}:{fired_label(r)}" for q, r in self.fired if not r.quiet]
        return " ".join([self.event.event.name, *dict.fromkeys(shown)])


@dataclass(frozen=True)
class ReachableGraph:
    spec: Spec
    queues: int
    states: tuple[State, ...]  # breadth-first order: the node numbers
    starts: tuple[int, ...]
    edges: tuple[Edge, ...]
    broken: dict[int, tuple[str, ...]]  # state number -> invariants it breaks

    @property
    def loops(self) -> int:
        return sum(1 for e in self.edges if e.source == e.target)


def collect(spec: Spec, queues: int) -> ReachableGraph:
    """Every reachable state and step of ``spec`` with ``queues`` queues."""
    machine = Machine(spec, queues)
    layout = machine.layout
    invariants = [(p, compile_expr(p.expr, layout)) for p in spec.properties if p.kind is PropertyKind.INVARIANT]
    steps = [(p, compile_expr(p.expr, layout)) for p in spec.properties if p.kind is PropertyKind.STEP]
    number: dict[State, int] = {}
    order: list[State] = []
    frontier: deque[State] = deque()

    def admit(state: State) -> int:
        if state not in number:
            number[state] = len(order)
            order.append(state)
            frontier.append(state)
        return number[state]

    starts = tuple(dict.fromkeys(admit(s) for s in machine.initial_states()))
    edges = []
    while frontier:
        state = frontier.popleft()
        for inst in machine.instances:
            if not machine.enabled(state, inst):
                continue
            for choice in machine.step(state, inst).choices:
                broken = tuple(
                    p.name
                    for p, f in steps
                    if inst.event.name in p.events and not f(state, choice.post, inst.values, 0)
                )
                edges.append(Edge(number[state], admit(choice.post), inst, choice.fired, broken))
    broken = {}
    for i, state in enumerate(order):
        names = tuple(
            p.name
            for p, f in invariants
            if not all(f(state, None, {}, q) for q in (range(queues) if p.per_queue else (0,)))
        )
        if names:
            broken[i] = names
    return ReachableGraph(spec, queues, tuple(order), starts, tuple(edges), broken)


def _title(graph: ReachableGraph, what: str) -> str:
    moves = len(graph.edges) - graph.loops
    return (
        f"{graph.spec.name}, {graph.queues} queue(s): {what}\n{len(graph.states)} states, "
        f"{len(graph.edges)} steps ({graph.loops} that change nothing are not drawn, {moves} drawn)"
    )


def _legend(graph: ReachableGraph) -> Html:
    bad = sorted({n for names in graph.broken.values() for n in names} | {n for e in graph.edges for n in e.broken})
    names = wrap(", ".join(bad) + ")", 60) if bad else ["none here)"]
    rows = [
        f'<TR><TD ALIGN="LEFT"><FONT COLOR="{BAD}">red: breaks a property</FONT> ('
        + '<BR ALIGN="LEFT"/>'.join(html_escape(line) for line in names)
        + '<BR ALIGN="LEFT"/></TD></TR>'
    ]
    rows.append('<TR><TD ALIGN="LEFT">edge labels: event, then the rows that fired (letter or name)</TD></TR>')
    return Html(
        '<TABLE BORDER="1" COLOR="#bbbbbb" CELLBORDER="0" CELLPADDING="3" STYLE="ROUNDED">' + "".join(rows) + "</TABLE>"
    )


def _new_graph(name: str, title: str) -> Graph:
    graph = Graph(
        name,
        {
            "label": title,
            "labelloc": "t",
            "fontname": FONT,
            "fontsize": 14,
            "rankdir": "LR",
            "nodesep": 0.15,
            "ranksep": 0.6,
            "pad": 0.3,
            "newrank": True,
        },
    )
    graph.node_defaults = {
        "fontname": FONT,
        "fontsize": 9,
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": "#f4f4f4",
        "margin": "0.06,0.03",
    }
    graph.edge_defaults = {"fontname": FONT, "fontsize": 8, "arrowsize": 0.6, "color": "#555555"}
    return graph


def reachable_dot(graph: ReachableGraph, limit: int = LIMIT, max_edges: int = MAX_EDGES) -> str:
    """The DOT text: every state when there are at most ``limit``; else the
    quotient by the queues' variables when it has at most ``max_edges``
    edges; else the quotient by the notifier states."""
    if len(graph.states) > limit:
        fine = drawn_edges(graph, QUEUES) <= max_edges
        return quotient_dot(graph, QUEUES if fine else NOTIFIER)
    dot = _new_graph(f"reachable_{graph.spec.name}_{graph.queues}", _title(graph, "every reachable state"))
    clusters: dict[tuple, list[int]] = {}
    for i, state in enumerate(graph.states):
        clusters.setdefault(tuple(q[0] for q in state.queues), []).append(i)
    for key in sorted(clusters, key=lambda k: min(clusters[k])):
        sub = dot.subgraph(
            "cluster_" + "_".join(key), label=" / ".join(key), style="dashed", color="#999999", fontsize=11
        )
        for i in clusters[key]:
            attrs: dict[str, object] = {"label": state_label(graph.spec, graph.states[i])}
            if i in graph.broken:
                attrs.update(
                    color=BAD, fillcolor=BAD_FILL, fontcolor=BAD, tooltip="breaks " + ", ".join(graph.broken[i])
                )
            sub.node(f"s{i}", **attrs)
        dot.close(sub)
    dot.node("start", shape="plaintext", style="", label="start")
    for i in graph.starts:
        dot.edge("start", f"s{i}", label="a")
    merged: dict[tuple[int, int], dict[str, bool]] = {}
    for edge in graph.edges:
        if edge.source == edge.target:
            continue
        labels = merged.setdefault((edge.source, edge.target), {})
        labels[edge.label()] = labels.get(edge.label(), False) or bool(edge.broken)
    for (source, target), labels in merged.items():
        attrs = {"label": "\n".join(labels)}
        if any(labels.values()):
            attrs.update(color=BAD, fontcolor=BAD)
        dot.edge(f"s{source}", f"s{target}", **attrs)
    dot.node("legend", shape="plaintext", style="", label=_legend(graph))
    return dot.text()


def by_queues(state: State) -> tuple:
    """Every queue's own variables, up to the order of the queues."""
    return tuple(sorted(state.queues))


def by_notifier(state: State) -> tuple:
    """Every queue's notifier state, up to the order of the queues."""
    return tuple(sorted(q[0] for q in state.queues))


@dataclass(frozen=True, slots=True)
class Quotient:
    """A summary of the graph: its states grouped by ``key``."""

    what: str
    key: Callable[[State], tuple]
    describe: Callable[[Spec, tuple], str]


QUEUES = Quotient(
    "summary: states grouped by the queues' own variables, up to queue order",
    by_queues,
    lambda spec, key: "\n".join(queue_words(spec, q) for q in key),
)
NOTIFIER = Quotient(
    "summary: states grouped by each queue's notifier state, up to queue order",
    by_notifier,
    lambda spec, key: " + ".join(key),
)


def _merged(graph: ReachableGraph, key: Callable[[State], tuple], names: dict) -> tuple[dict, int]:
    merged: dict[tuple[str, str], dict[str, bool]] = {}
    inside = 0
    for edge in graph.edges:
        source = names[key(graph.states[edge.source])]
        target = names[key(graph.states[edge.target])]
        if source == target:
            inside += 1
            continue
        tags = [fired_label(r) for _, r in edge.fired if not r.quiet]
        label = " ".join([edge.event.event.name, *dict.fromkeys(tags)])
        labels = merged.setdefault((source, target), {})
        labels[label] = labels.get(label, False) or bool(edge.broken)
    return merged, inside


def quotient_dot(graph: ReachableGraph, quotient: Quotient) -> str:
    """The graph divided by ``quotient``: a node per class with its counts."""
    members: dict[tuple, list[int]] = {}
    for i, state in enumerate(graph.states):
        members.setdefault(quotient.key(state), []).append(i)
    names = {key: f"c{n}" for n, key in enumerate(sorted(members, key=lambda k: min(members[k])))}
    merged, inside = _merged(graph, quotient.key, names)
    title = (
        f"{graph.spec.name}, {graph.queues} queue(s): {quotient.what}\n"
        f"{len(graph.states)} states, {len(graph.edges)} steps; {len(names)} groups, "
        f"{inside} steps within a group not drawn"
    )
    dot = _new_graph(f"reachable_{graph.spec.name}_{graph.queues}", title)
    dot.attrs.update(rankdir="TB", nodesep=0.6, ranksep=0.8)
    dot.node_defaults.update(fontsize=11)
    dot.edge_defaults.update(fontsize=9)
    for key, name in names.items():
        bad = [i for i in members[key] if i in graph.broken]
        count = len(members[key])
        text = quotient.describe(graph.spec, key) + f"\n{count} state{'s' if count != 1 else ''}"
        attrs: dict[str, object] = {}
        if bad:
            broken = sorted({n for i in bad for n in graph.broken[i]})
            text += f", {len(bad)} bad"
            attrs.update(
                color=BAD, fillcolor=BAD_FILL, fontcolor=BAD, penwidth=1.5, tooltip="breaks " + ", ".join(broken)
            )
        dot.node(name, label=text, **attrs)
    dot.node("start", shape="plaintext", style="", label="start")
    for key in dict.fromkeys(quotient.key(graph.states[i]) for i in graph.starts):
        dot.edge("start", names[key], label="a")
    for (source, target), labels in merged.items():
        attrs = {"label": "\n".join(sorted(labels))}
        if any(labels.values()):
            attrs.update(color=BAD, fontcolor=BAD)
        dot.edge(source, target, **attrs)
    dot.node("legend", shape="plaintext", style="", label=_legend(graph))
    return dot.text()


def drawn_edges(graph: ReachableGraph, quotient: Quotient) -> int:
    names = {k: k for k in {quotient.key(s) for s in graph.states}}
    return len(_merged(graph, quotient.key, names)[0])


def listing(graph: ReachableGraph) -> str:
    """Every state, and every step that changes it, as text beside a summary
    drawing: steps between the same two states share a line."""
    spec = graph.spec
    lines = [
        f"{spec.name}, {graph.queues} queue(s): {len(graph.states)} states, "
        f"{len(graph.edges)} steps ({graph.loops} change nothing and are not listed)",
        "a step is: event, then the rows that fired (letter or name); BREAKS names the properties broken",
        "",
    ]
    for i, state in enumerate(graph.states):
        mark = " start" if i in graph.starts else ""
        bad = f"  BREAKS {', '.join(graph.broken[i])}" if i in graph.broken else ""
        lines.append(f"s{i}{mark}: {format_state(spec, state)}{bad}")
    lines.append("")
    merged: dict[tuple[int, int], dict[str, None]] = {}
    for edge in graph.edges:
        if edge.source != edge.target:
            bad = f" BREAKS {', '.join(edge.broken)}" if edge.broken else ""
            merged.setdefault((edge.source, edge.target), {})[edge.label() + bad] = None
    for (source, target), labels in merged.items():
        lines.append(f"s{source} -> s{target}: {'; '.join(labels)}")
    return "\n".join(lines) + "\n"
