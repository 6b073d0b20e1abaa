"""A lasso (the counterexample to a liveness property) drawn through the machine.

The stem's steps are numbered arrows, as a counterexample's are
(:func:`~.counterexample.path_arrows`); the cycle's steps follow, numbered on
and drawn thick in red, since the run repeats them for ever. A cycle that
is empty (the run stays put) is a dotted red loop on the state where each
queue stays. The text of the failure is the legend.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.model.liveness import check_liveness
>>> run = check_liveness(load_spec("proposal"), 1)
>>> "for ever" in lasso_dot(run, "kick_eventually_handled")
True
"""

from __future__ import annotations

from dataclasses import replace

from virtio_notifier_spec.model.liveness import LivenessRun, failure_text
from virtio_notifier_spec.model.trace import Trace

from .counterexample import BAD, path_arrows, text_legend
from .layout import Arrow, add_legend, base_graph, draw_arrows


def lasso_arrows(run: LivenessRun, name: str) -> list[Arrow]:
    """The stem's arrows, then the cycle's (or the loop of staying put)."""
    lasso = run.failures[name].lasso
    arrows = path_arrows(lasso.stem)
    entry = len(lasso.stem)
    if lasso.cycle:
        cycle = path_arrows(Trace(lasso.stem.last, lasso.cycle), first=entry + 1)
        arrows += [replace(a, label=a.label + "\n(for ever)", colour=BAD, penwidth=2.6) for a in cycle]
    else:
        for state in dict.fromkeys(queue[0] for queue in lasso.stem.last.queues):
            arrows.append(Arrow(state, state, f"for ever: stays\n(state {entry})", BAD, "", 2.0, "dotted"))
    return arrows


def lasso_dot(run: LivenessRun, name: str) -> str:
    """The DOT text of the failure of property ``name`` in ``run``."""
    spec = run.spec
    failure = run.failures[name]
    title = f"{spec.name}, {run.queues} queue(s): {name} fails\n{failure.message}"
    graph = base_graph(f"lasso_{spec.name}_{name}", title)
    lowest = draw_arrows(graph, spec, lasso_arrows(run, name), start_label="0. a.")
    add_legend(graph, text_legend(failure_text(run, name)), lowest)
    return graph.text()
