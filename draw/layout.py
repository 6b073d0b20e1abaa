"""Placing labelled arrows between the three states the way the message drew them.

Graphviz's ``dot`` places edge labels of its own accord, and with a dozen
rows between three states they collide. Here every arrow's label is a node
of its own (nodes never overlap), put on a rank that keeps the picture of
the seed message::

                     assigned
                    ^ /    \\ ^
                e. / / c. g. \\ \\ b.
                 / v          v \\
         offlimits ---- f. ---> deassigned <-- start (a.)
                   <--- d. ----

Rank 0 holds the labels of ``assigned``'s self-loops, rank 1 ``assigned``,
rank 2 the labels of arrows between the top and the bottom (outer left:
up into ``assigned``; inner: down out of it), rank 3 ``offlimits``,
``deassigned`` and the start, rank 4 the labels of arrows from left to
right, rank 5 those from right to left between the bottom states'
self-loops (left's loops left, right's right). The legend goes last. A table whose
states are not these three is drawn with plain labelled edges.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from virtio_notifier_spec.spec.schema import Spec

from .dot import Graph

FONT = "Helvetica"


@dataclass(frozen=True, slots=True)
class Arrow:
    """One arrow to draw: from ``source`` to ``target`` (equal: a self-loop)."""

    source: str
    target: str
    label: str
    colour: str = "black"
    tooltip: str = ""
    penwidth: float = 1.0
    style: str = "solid"


@dataclass(frozen=True, slots=True)
class Places:
    """Which state sits where; None when the table's states do not fit."""

    top: str
    left: str
    right: str

    @classmethod
    def of(cls, spec: Spec) -> Places | None:
        states = set(spec.states.values)
        if states != {"assigned", "offlimits", "deassigned"}:
            return None
        return cls("assigned", "offlimits", "deassigned")


def base_graph(name: str, title: str) -> Graph:
    """A graph with the house look: title on top, one font everywhere."""
    graph = Graph(
        name,
        {
            "label": title,
            "labelloc": "t",
            "fontname": FONT,
            "fontsize": 16,
            "nodesep": 0.25,
            "ranksep": 0.35,
            "pad": 0.3,
            "newrank": True,
        },
    )
    graph.node_defaults = {"fontname": FONT, "fontsize": 13}
    graph.edge_defaults = {"fontname": FONT, "fontsize": 10, "arrowsize": 0.8}
    return graph


def _slot(places: Places, arrow: Arrow) -> tuple[int, int]:
    """(rank, order within the rank) of the arrow's label node."""
    s, t = arrow.source, arrow.target
    if s == t:
        if s == places.top:
            return 0, 0
        return 5, 0 if s == places.left else 2
    if t == places.top:
        return 2, 0 if s == places.left else 3
    if s == places.top:
        return 2, 1 if t == places.left else 2
    return (4, 0) if s == places.left else (5, 1)


def _halves(places: Places, arrow: Arrow, label: str) -> list[tuple[str, str, dict]]:
    """The two edges through the label node, written in rank order, with
    the arrowhead at the arrow's real target."""
    s, t = arrow.source, arrow.target
    head, none, back = {}, {"arrowhead": "none"}, {"dir": "back"}
    if s == t and s == places.top:
        return [(label, s, none), (label, s, head)]
    if s == t:
        return [(s, label, none), (s, label, back)]
    if t == places.top:
        return [(t, label, back), (label, s, none)]
    if s == places.top:
        return [(s, label, none), (label, t, head)]
    return [(s, label, none), (t, label, back)]


def draw_arrows(
    graph: Graph, spec: Spec, arrows: list[Arrow], *, state_attrs: dict | None = None, start_label: str = "a."
) -> str:
    """The states, the start and ``arrows``, placed as the message drew them;
    returns the name of a node on the lowest rank (to hang a legend under)."""
    places = Places.of(spec)
    for state in spec.states.values:
        attrs = {"shape": "ellipse", "style": "filled", "fillcolor": "#f4f4f4"}
        attrs.update((state_attrs or {}).get(state, {}))
        graph.node(state, **attrs)
    graph.node("start", shape="plaintext", label="start", fontsize=11)
    if places is None:
        graph.edge("start", spec.start, label=start_label)
        for arrow in arrows:
            graph.edge(arrow.source, arrow.target, **_look(arrow), label=arrow.label)
        return "start"
    ranks: dict[int, list[tuple[int, int, str]]] = {r: [] for r in range(6)}
    for number, arrow in enumerate(arrows):
        name = f"label{number}"
        rank, order = _slot(places, arrow)
        ranks[rank].append((order, number, name))
        graph.node(
            name,
            shape="plaintext",
            label=arrow.label,
            fontsize=10,
            fontcolor=arrow.colour,
            tooltip=arrow.tooltip or arrow.label,
            margin="0.02,0.01",
        )
        for tail, head, extra in _halves(places, arrow, name):
            graph.edge(tail, head, **_look(arrow), **extra)
    ranks[1].append((0, 0, places.top))
    ranks[3] += [(0, 0, places.left), (1, 0, places.right), (2, 0, "start")]
    above: str | None = None
    for rank in range(6):
        names = [name for _, _, name in sorted(ranks[rank])]
        if not names:
            continue
        graph.raw("{rank=same; " + " ".join(f'"{n}";' for n in names) + "}")
        for left, right in itertools.pairwise(names):
            graph.edge(left, right, style="invis")
        if above is not None:  # keeps the ranks in this order even where no arrow says so
            graph.edge(above, names[len(names) // 2], style="invis", weight=0)
        above = names[len(names) // 2]
    graph.edge(places.right, "start", dir="back", label=start_label, fontsize=11)
    return above or places.right


def add_legend(graph: Graph, label: object, below: str) -> None:
    """A legend node under the node ``below`` (the lowest of the drawing)."""
    graph.node("legend", shape="plaintext", label=label, fontsize=10)
    graph.edge(below, "legend", style="invis")


def _look(arrow: Arrow) -> dict:
    look = {"color": arrow.colour, "penwidth": arrow.penwidth}
    if arrow.style != "solid":
        look["style"] = arrow.style
    if arrow.tooltip:
        look["tooltip"] = arrow.tooltip
    return look
