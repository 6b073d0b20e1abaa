"""``virtio-notifier-spec graph``: the reachable state graph of a table, for other tools.

Every reachable state (numbered breadth first, with its depth and the
invariants it breaks), the initial states, and every step with its event,
its arguments and the row (and letter) that fired on each queue
(``model/graphdoc.py``; ``--json`` gives one document per queue count,
each valid under ``model/graph.schema.json``; ``graph --schema`` prints
it). Text lists each state and its steps. ``--max-states`` (100,000 by
default) and ``--depth`` bound the walk: the graph is then partial, its
states with steps outside it marked ``open``, and the exit code 3.

Exit codes: 0 the whole graph, 2 bad input, 3 partial (--max-states,
--depth, --timeout), 130 interrupted.
"""

from __future__ import annotations

import json

import click

from virtio_notifier_spec.model.explore import INTERRUPTED
from virtio_notifier_spec.model.graph import state_graph
from virtio_notifier_spec.model.graphdoc import graph_json, graph_text, schema
from virtio_notifier_spec.spec.load import load_spec

from .deadline import Deadline
from .document import print_document
from .env import env_option
from .exitcodes import ExitCode, outcome
from .guard import guarded, say
from .options import depth_option, queues_option, run_options, spec_option
from .progress import Progress

#: ``--max-states`` unless given: a graph is kept whole in memory, every edge too.
MAX_STATES = 100_000


@click.command("graph")
@spec_option()
@queues_option(default="1", help="Queue counts: N, or every count from A to B (A-B), one graph each.")
@click.option(
    "--max-states",
    type=click.IntRange(min=1),
    default=MAX_STATES,
    show_default=True,
    help="Stop the walk after this many states: the graph is partial, exit 3.",
)
@depth_option
@click.option("--schema", "show_schema", is_flag=True, help="Print the JSON Schema of a graph and exit.")
@run_options
@env_option
@guarded
def graph(
    spec_name: str,
    queues: range,
    max_states: int,
    depth: int | None,
    show_schema: bool,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    env: str,
) -> int:
    """The reachable state graph: states, initial states, and steps with their rows."""
    if show_schema:
        click.echo(json.dumps(schema(), indent=2))
        return ExitCode.HOLDS
    spec = load_spec(spec_name, env=env)
    deadline = Deadline(timeout)
    graphs = []
    with Progress(f"graph {spec.name}", quiet=quiet) as progress:
        for n in queues:
            if graphs and graphs[-1].partial is not None:
                break
            progress.stage(f"graph {spec.name}, {n} queue(s)")
            graphs.append(state_graph(spec, n, max_states=max_states, depth=depth, timeout=deadline.remaining()))
    partial = next((g.partial for g in graphs if g.partial), None)
    not_run = [n for n in queues if n > graphs[-1].machine.queues]
    if as_json:
        print_document("graph", [graph_json(g) for g in graphs], stopped=partial, not_run=not_run)
    else:
        for g in graphs:
            click.echo(graph_text(g), nl=False)
    if partial:
        say(f"incomplete: {partial}; the graph is partial (its open states have steps outside it)")
    return outcome(failed=False, partial=INTERRUPTED if partial == INTERRUPTED else partial)
