"""The per-queue machine of one table, as Graphviz DOT.

Laid out like the seed message's drawing: ``assigned`` on top,
``offlimits`` left, ``deassigned`` right, the start entering ``deassigned``
(transition **a**). One edge per row and source state, labelled with the
row's letter (or name), event and guard. Rows that change nothing (an
ignored event, :attr:`Transition.quiet`) are not drawn: a legend lists them.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> text = machine_dot(load_spec("proposal"))
>>> "c. set_host_notifier" in text and "set_status_ignored" in text
True
"""

from __future__ import annotations

from virtio_notifier_spec.spec.schema import Spec, Transition
from virtio_notifier_spec.spec.text import effect_text

from .dot import Html, html_escape
from .labels import guard_text, row_label
from .layout import Arrow, add_legend, base_graph, draw_arrows

LETTERED = "black"
ADDED = "#1f4e9c"  # rows the message did not letter: the table's own answers


def row_tooltip(row: Transition) -> str:
    """What hovering an edge of the SVG shows: effects and the reason."""
    effects = "; ".join(effect_text(e) for e in row.effects) or "no effect"
    return f"{row.name}: {effects}. {row.why}"


def machine_arrows(spec: Spec) -> list[Arrow]:
    """One arrow per row and source state; quiet rows left out."""
    arrows = []
    for row in spec.transitions:
        if row.quiet:
            continue
        colour = LETTERED if row.letter else ADDED
        for source in row.sources:
            arrows.append(
                Arrow(
                    source, row.target or source, row_label(row), colour, row_tooltip(row), 1.6 if row.letter else 1.0
                )
            )
    return arrows


def legend(spec: Spec) -> Html:
    """Colours, and the rows that change nothing (which are not drawn)."""
    rows = [
        f'<TR><TD ALIGN="LEFT" COLSPAN="3"><FONT COLOR="{LETTERED}">a.-g.: rows lettered as in '
        f'the message</FONT>    <FONT COLOR="{ADDED}">name: rows the message did not letter</FONT></TD></TR>'
    ]
    quiet = [r for r in spec.transitions if r.quiet]
    if quiet:
        rows.append(
            f'<TR><TD ALIGN="LEFT" COLSPAN="3"><B>{len(quiet)} rows that change nothing '
            "(ignored events, not drawn)</B></TD></TR>"
        )
    for row in quiet:
        rows.append(
            f'<TR><TD ALIGN="LEFT">{html_escape(row.name)}</TD>'
            f'<TD ALIGN="LEFT">{html_escape(row.event)} in {html_escape(", ".join(row.sources))}</TD>'
            f'<TD ALIGN="LEFT">{html_escape(guard_text(row))}</TD></TR>'
        )
    return Html(
        '<TABLE BORDER="1" COLOR="#bbbbbb" CELLBORDER="0" CELLSPACING="1" CELLPADDING="3" '
        'STYLE="ROUNDED">' + "".join(rows) + "</TABLE>"
    )


def machine_dot(spec: Spec) -> str:
    """The DOT text of ``spec``'s per-queue machine."""
    graph = base_graph(f"machine_{spec.name}", f"{spec.name}: the per-queue notifier machine")
    lowest = draw_arrows(graph, spec, machine_arrows(spec))
    add_legend(graph, legend(spec), lowest)
    return graph.text()
