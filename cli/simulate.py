"""``virtio-notifier-spec simulate``: random runs of a table too big to explore.

Like TLC's ``-simulate -depth D -seed S``, ``quint run --max-steps
--max-samples --seed`` and SPIN's random simulation: ``--runs`` runs of up
to ``--depth`` steps, each event chosen at random among those the
environment may issue (``model/simulate.py``), every property checked on
every run. A property no run broke says ``no violation`` (a simulation
proves nothing); what a finite run cannot decide says ``not checked`` and
why. A failure is a replayable trace with the row and letter of each step
(``--traces`` writes it for ``replay`` and ``oracle check``). The seed is
printed; the same seed gives the same output, byte for byte.

Exit codes: 0 no violation, 1 a property fails, 2 bad input, 3 stopped by
--timeout before the runs asked, 130 interrupted.
"""

from __future__ import annotations

import random

import click
from rich import box
from rich.table import Table

from virtio_notifier_spec.model.simulate import Simulation, simulate
from virtio_notifier_spec.spec.load import load_spec

from .deadline import Deadline
from .document import print_document
from .env import env_option
from .exitcodes import outcome
from .export import write_counterexamples
from .guard import guarded, stopped_note
from .options import property_option, queues_option, run_options, spec_option, traces_option
from .output import console, print_text
from .progress import Progress
from .selection import only_simulated, restrict


def simulation_json(sim: Simulation) -> dict:
    spec = sim.spec
    return {
        "variant": spec.name,
        "env": spec.env,
        "queues": sim.queues,
        "seed": sim.seed,
        "depth": sim.depth,
        "runs": sim.runs,
        "steps": sim.steps,
        "distinct_states": sim.distinct,
        "deadlocked_runs": sim.ended,
        "partial": sim.partial,
        "verdicts": {name: sim.verdict(name) for name in sim.checks},
        "not_checked": dict(sim.not_checked),
        "counterexamples": {
            name: {
                "run": sim.found_in[name],
                "message": cx.message,
                "trace": cx.trace.to_json(spec),
                **({"other": cx.other.to_json(spec)} if cx.other else {}),
            }
            for name, cx in sim.counterexamples.items()
        },
        "coverage": sim.fired,
    }


def _print(sim: Simulation) -> None:
    out = console()
    spec = sim.spec
    head = (
        f"Simulation of {spec.name}, {sim.queues} queue(s), env {spec.env}, seed {sim.seed}: "
        f"{sim.runs:,} run(s) of up to {sim.depth} steps, {sim.steps:,} steps, {sim.distinct:,} distinct states"
    )
    if sim.ended:
        head += f", {sim.ended} run(s) ended in a state with no event"
    print_text(out, head)
    kinds = {p.name: "lemma" if p.lemma else p.kind.value for p in spec.properties}
    kinds |= {p.name: p.kind.value for p in spec.liveness}
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), show_edge=False)
    for column in ("property", "kind", "verdict"):
        table.add_column(column)
    style = {"fails": "red", "no violation": "green", "not checked": "yellow"}
    for name in sim.checks:
        verdict = sim.verdict(name)
        shown = f"[{style[verdict]}]{verdict.upper() if verdict == 'fails' else verdict}[/]"
        if verdict == "fails":
            shown += f" (run {sim.found_in[name]}, {len(sim.counterexamples[name].trace)} steps)"
        table.add_row(name, kinds.get(name, "hygiene"), shown)
    out.print(table)
    for name, why in sim.not_checked.items():
        print_text(out, f"not checked: {name}: {why}")
    for cx in sim.counterexamples.values():
        print_text(out, f"{spec.name}, {sim.queues} queue(s): {cx.name} FAILS: {cx.message}")
        print_text(out, cx.trace.format(spec))
        if cx.other is not None:
            print_text(out, "  ... and the other history:\n" + cx.other.format(spec))
        out.print()
    unfired = [name for name, count in sim.fired.items() if not count]
    if unfired:
        print_text(out, f"rows no run fired: {', '.join(unfired)}")
    if not sim.counterexamples:
        print_text(out, "no violation found: a simulation finds failures, it proves nothing")


#: The longest run and the most runs one command may ask for (a hostile
#: --depth 10**30 is refused, not run for ever).
MAX_STEPS = 1_000_000


@click.command("simulate")
@spec_option()
@queues_option(default="2", single=True, maximum=None)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="The random seed (default: a new one, printed).")
@click.option(
    "--depth",
    type=click.IntRange(0, MAX_STEPS),
    default=100,
    show_default=True,
    metavar="N",
    help="Steps per run at most (TLC's -depth, quint run's --max-steps).",
)
@click.option(
    "--runs",
    type=click.IntRange(1, MAX_STEPS),
    default=100,
    show_default=True,
    help="How many runs (quint's --max-samples).",
)
@property_option
@traces_option
@run_options
@env_option
@guarded
def simulate_command(
    spec_name: str,
    queues: range,
    seed: int | None,
    depth: int,
    runs: int,
    properties: tuple[str, ...],
    traces_dir: str | None,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    env: str,
) -> int:
    """Random runs of a table, every property checked on each: for tables too big to explore."""
    spec = restrict(load_spec(spec_name, env=env), properties)
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    deadline = Deadline(timeout)
    with Progress(f"simulate {spec.name}, {queues[0]} queue(s), seed {seed}", quiet=quiet):
        sim = simulate(spec, queues[0], seed=seed, depth=depth, runs=runs, timeout=deadline.remaining())
    sim = only_simulated(sim, properties)
    if as_json:
        print_document("simulate", [simulation_json(sim)], stopped=sim.partial)
    else:
        _print(sim)
    if traces_dir is not None:
        found = [(sim.queues, name, cx.trace, cx.other) for name, cx in sim.counterexamples.items()]
        write_counterexamples(traces_dir, spec, spec_name, found)
    stopped_note(sim.partial)
    return outcome(failed=bool(sim.counterexamples), partial=sim.partial)
