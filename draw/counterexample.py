"""A counterexample drawn as a path through the machine.

Each step of the shortest trace becomes a numbered arrow between the
states of the per-queue machine (one per queue whose row did something;
a dashed loop for a step that changed no queue's row), coloured by queue.
The states where the queues end are outlined in red. The text trace,
replayable, is written beside the drawing (:func:`counterexample_text`)
and repeated in the drawing's legend.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.model.explore import explore
>>> run = explore(load_spec("proposal"), 1)
>>> "1. q0 b" in counterexample_dot(run, run.counterexamples["no_lost_kick"])
True
"""

from __future__ import annotations

from virtio_notifier_spec.model.explore import Counterexample, Exploration
from virtio_notifier_spec.model.report import counterexample_text
from virtio_notifier_spec.model.trace import Trace
from virtio_notifier_spec.spec.concrete import State

from .dot import Html, html_escape
from .labels import fired_label
from .layout import Arrow, add_legend, base_graph, draw_arrows
from .machine import row_tooltip

QUEUE_COLOURS = ("#1f4e9c", "#1e7b34", "#8e44ad", "#b9770e", "#117a8b", "#6c3483")
BAD = "#c0392b"
IDLE = "#999999"


def path_arrows(trace: Trace, first: int = 1) -> list[Arrow]:
    """One numbered arrow per queue and step of ``trace``, from number ``first``."""
    arrows = []
    before: State = trace.start
    for number, step in enumerate(trace.steps, start=first):
        moved = [(q, row) for q, row in step.fired if not row.quiet]
        for q, row in moved:
            colour = QUEUE_COLOURS[q % len(QUEUE_COLOURS)]
            source = before.queues[q][0]
            target = step.post.queues[q][0]
            label = f"{number}. q{q} {fired_label(row)}\n{step.event}"
            arrows.append(Arrow(source, target, label, colour, row_tooltip(row), 1.8))
        if not moved:
            q = step.event.target if step.event.target is not None else 0
            state = before.queues[q][0]
            arrows.append(
                Arrow(state, state, f"{number}. {step.event}\n[{step.rows()}]", IDLE, step.rows(), 1.0, "dashed")
            )
        before = step.post
    return arrows


def counterexample_dot(run: Exploration, cx: Counterexample) -> str:
    """The DOT text of ``cx``'s trace through ``run``'s machine."""
    spec = run.spec
    trace = cx.trace
    title = f"{spec.name}, {run.queues} queue(s): {cx.name} fails\n{cx.message}"
    graph = base_graph(f"counterexample_{spec.name}_{cx.name}", title)
    last = {queue[0] for queue in trace.last.queues}
    ends = {s: {"color": BAD, "penwidth": 2.5, "fillcolor": "#fde2df"} for s in last}
    lowest = draw_arrows(graph, spec, path_arrows(trace), state_attrs=ends, start_label="0. a.")
    add_legend(graph, trace_legend(run, cx), lowest)
    return graph.text()


def trace_legend(run: Exploration, cx: Counterexample) -> Html:
    """The text trace, one line a row, for the drawing's legend."""
    return text_legend(counterexample_text(run, cx))


def text_legend(text: str) -> Html:
    """Lines of text in a fixed-width, rounded box, for a drawing's legend."""
    lines = text.splitlines()
    cells = "".join(
        f'<TR><TD ALIGN="LEFT"><FONT FACE="Courier">{html_escape(line) or " "}</FONT></TD></TR>' for line in lines
    )
    return Html(
        '<TABLE BORDER="1" COLOR="#bbbbbb" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2" '
        'STYLE="ROUNDED">' + cells + "</TABLE>"
    )


def trace_text(run: Exploration, cx: Counterexample) -> str:
    """The .txt written beside the drawing."""
    return counterexample_text(run, cx) + "\n"
