"""The command line: ``virtio-notifier-spec check | verify | show | validate``
and the group that adds the others.

Every command shares one flag grammar (:mod:`.options`) and one set of
exit codes (:mod:`.exitcodes`): 0 holds, 1 fails, 2 bad input, 3
incomplete (--max-states, --timeout), 4 internal error, 130 interrupted.
Bad input is one line on stderr naming file, line and field; never a
traceback (:mod:`.guard`).
"""

from __future__ import annotations

import json
import sys

import click

from virtio_notifier_spec.model.explore import Exploration
from virtio_notifier_spec.model.report import (
    coverage_table,
    exploration_json,
    failures_text,
    not_checked_lines,
    runs_table,
    span,
    verdicts_table,
)
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import Spec
from virtio_notifier_spec.spec.text import effect_text, to_text

from .deadline import Deadline
from .env import env_option
from .exitcodes import INTERRUPTED, ExitCode, outcome
from .export import first_counterexamples, first_lassos, write_counterexamples, write_lassos
from .guard import guarded, say, stopped_note
from .options import (
    depth_option,
    max_states_option,
    output_options,
    property_option,
    queues_option,
    run_options,
    spec_option,
    traces_option,
)
from .output import console, print_text, wrap
from .params import QueueRange
from .progress import Progress
from .runs import explore_sizes, first_partial
from .selection import only, restrict


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="virtio-notifier-spec")
def cli() -> None:
    """Specification and model checker of the virtqueue ioeventfd notifier machine.

    Exit codes, for every command: 0 holds (proved, conforms), 1 fails, 2 bad
    input, 3 incomplete (--max-states, --timeout, unknown), 4 internal error,
    5 the machine under test failed (qemu: QEMU crashed, hung or never booted),
    130 interrupted (what was decided is printed).
    """


def print_results(
    by_variant: dict[str, list[Exploration]],
    as_json: bool,
    proofs=None,
    not_run: dict[str, list[int]] | None = None,
) -> None:
    """The runs, the verdicts on every kind of property and each failure
    once (a trace, or a lasso, at the smallest queue count that shows it);
    ``proofs`` (a ProofReport) adds the column "proved for all N" (for a
    liveness property: what the one-queue projection decides for every N);
    ``not_run``: queue counts left out when a run stopped."""
    not_run = {k: v for k, v in (not_run or {}).items() if v}
    if as_json:
        document: dict = {name: [exploration_json(r) for r in runs] for name, runs in by_variant.items()}
        if proofs is not None:
            from .prove import report_json

            document["proofs"] = report_json(proofs)
        if not_run:
            document["not_run"] = not_run
        click.echo(json.dumps(document, indent=2, sort_keys=False))
        return
    out = console()
    out.print(runs_table(r for runs in by_variant.values() for r in runs))
    for runs in by_variant.values():  # why a reduced search is not the one asked for
        for r in runs:
            for note in r.notes:
                print_text(out, f"note: {r.spec.name}, {r.queues} queue(s): {note}")
    for name, sizes in not_run.items():
        out.print(f"{name}: not run for {span(sizes)} queue(s): the run before stopped early", markup=False)
    if proofs is None:
        out.print(verdicts_table(by_variant))
    else:
        from .prove import print_failures, proof_cell

        proved = {p.name: proof_cell(proofs, p.name) for p in proofs.proofs}
        proved |= _every_n(next(iter(by_variant.values()))[0].spec)
        out.print(verdicts_table(by_variant, proved))
        print_failures(out, proofs)
    for line in not_checked_lines(r for runs in by_variant.values() for r in runs):
        print_text(out, line)
    for runs in by_variant.values():
        shown: set[str] = set()
        for r in runs:
            for text in failures_text(r, shown):
                print_text(out, text)
                out.print()
        dead = sorted({d for r in runs if "no_dead_transition" in r.checks for d in r.dead})
        if dead:
            print_text(out, f"dead transitions in {runs[0].spec.name}: {', '.join(dead)}")


def _every_n(spec: Spec) -> dict[str, str]:
    """The liveness properties' cells of the column "proved for all N"."""
    from virtio_notifier_spec.scale.liveness import plans

    chosen = plans(spec, "auto")
    return {name: "every N (one-queue projection)" if mode == "projection" else "-" for name, mode in chosen.items()}


# -- check --------------------------------------------------------------------------


@cli.command()
@spec_option()
@queues_option(default="2")
@max_states_option
@depth_option
@run_options
@property_option
@traces_option
@click.option(
    "--symmetry/--no-symmetry",
    default=False,
    show_default=True,
    help="Explore one state per orbit of the queue permutations (scale/reduced.py).",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "packed", "general"]),
    default="auto",
    show_default=True,
    help="The packed engine where the table allows it (model/packed.py), or force one (cross-checks).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Threads for the packed engine."
)
@env_option
@guarded
def check(
    spec_name: str,
    queues: range,
    max_states: int | None,
    depth: int | None,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    properties: tuple[str, ...],
    traces_dir: str | None,
    symmetry: bool,
    engine: str,
    workers: int,
    env: str,
) -> int:
    """Explore every reachable state and check every property of one table.

    Every kind: invariants, step properties, history freedom, the table's
    hygiene, and the properties of infinite runs (leads_to, recoverable,
    deadlock_free, under the events' fairness) on the graph that decides
    each exactly; one whose graph is too large is printed "not checked"
    with the command that checks it. Both values of the host's limit flag
    are explored. A failing property is shown with a shortest trace from
    the start, or a lasso. Ctrl-C, --max-states and --timeout stop the run:
    what it found so far is printed (exit 130, 3).
    """
    spec = restrict(load_spec(spec_name, env=env), properties)
    deadline = Deadline(timeout)
    with Progress(spec.name, quiet=quiet) as progress:
        runs, skipped = explore_sizes(
            spec,
            queues,
            deadline,
            progress,
            spec_arg=spec_name,
            max_states=max_states,
            depth=depth,
            symmetry=symmetry,
            engine=engine,
            workers=workers,
        )
    results = [only(r, properties) for r in runs]
    print_results({spec.name: results}, as_json, not_run={spec.name: skipped})
    if not as_json:
        console().print(coverage_table(results[-1]))
    if traces_dir is not None:
        write_counterexamples(traces_dir, spec, spec_name, first_counterexamples(spec.name, results))
        write_lassos(traces_dir, spec, spec_name, first_lassos(results))
    partial = first_partial({spec.name: results}, bool(skipped))
    stopped_note(partial)
    return outcome(failed=any(r.failed for r in results), partial=partial)


# -- verify -------------------------------------------------------------------------


def _variant_queues(variant: str, default: str):
    return click.option(
        f"--{variant}-queues",
        type=QueueRange(),
        default=default,
        show_default=True,
        help=f"Queue counts explored for {variant}: N or A-B.",
    )


@cli.command()
@spec_option(help="The table that must satisfy every property, and is proved for every N: a variant or a TOML file.")
@click.option(
    "--queues",
    "--resolved-queues",
    "queues",
    type=QueueRange(),
    default="1-6",
    show_default=True,
    help="Queue counts explored for the table verified (--spec): N or A-B.",
)
@_variant_queues("proposal", "1-4")
@depth_option
@run_options
@env_option
@guarded
def verify(
    spec_name: str,
    queues: range,
    proposal_queues: range,
    depth: int | None,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    env: str,
) -> int:
    """Check a table (resolved) beside proposal and prove it; exit 0 when it satisfies everything.

    Every kind of property, as check does (the properties of infinite runs
    too), then the Z3 proofs of the table for every number of queues. The
    verdicts on `proposal` (the message read literally) are reported, not
    required: spec/README.md explains each failure.
    """
    deadline = Deadline(timeout)
    verified = load_spec(spec_name, env=env)
    plan = {verified.name: (verified, spec_name, queues)}
    if "proposal" not in plan:
        plan["proposal"] = (load_spec("proposal", env=env), "proposal", proposal_queues)
    by_variant: dict[str, list[Exploration]] = {}
    not_run: dict[str, list[int]] = {}
    proofs = None
    partial = None
    with Progress("verify", quiet=quiet) as progress:
        for name, (spec, spec_arg, sizes) in plan.items():
            if first_partial(by_variant):
                not_run[name] = list(sizes)
                continue
            by_variant[name], not_run[name] = explore_sizes(
                spec, sizes, deadline, progress, spec_arg=spec_arg, depth=depth
            )
        partial = first_partial(by_variant, any(not_run.values()))
        if partial is None:  # then the Z3 proofs of the table for every number of queues
            import z3

            from virtio_notifier_spec.proofs.prove import prove as prove_table

            from .prove import StoppableBudget

            z3.set_param("ctrl_c", False)  # Ctrl-C is Python's to see (prove.py)
            progress.stage(f"proving {verified.name} for every number of queues")
            try:
                proofs = prove_table(verified, budget=StoppableBudget(deadline.remaining()))
            except KeyboardInterrupt:
                partial = INTERRUPTED
            if proofs is not None and not proofs.ok and not proofs.violated:
                partial = f"a proof of {verified.name} is undecided (unknown)"
    print_results(by_variant, as_json, proofs, not_run)
    stopped_note(partial)
    failed = any(r.failed for r in by_variant.get(verified.name, ())) or (proofs is not None and proofs.violated)
    return outcome(failed=failed, partial=partial)


# -- show, validate -------------------------------------------------------------------


def rows_json(spec: Spec) -> list[dict]:
    return [
        {
            "name": row.name,
            "letter": row.letter,
            "event": row.event,
            "from": list(row.sources),
            "to": row.target,
            "guard": "otherwise" if row.otherwise else (to_text(row.guard) if row.guard else None),
            "effects": [effect_text(e) for e in row.effects],
            "why": row.why,
        }
        for row in spec.transitions
    ]


@cli.command()
@spec_option()
@output_options
@env_option
@guarded
def show(spec_name: str, as_json: bool, quiet: bool, env: str) -> int:
    """Print the table: each row with its letter, guard, effects and reason."""
    spec = load_spec(spec_name, env=env)
    if as_json:
        click.echo(json.dumps({"variant": spec.name, "summary": spec.summary, "rows": rows_json(spec)}, indent=2))
        return ExitCode.HOLDS
    width = console().width
    lines = [f"{spec.name}: {spec.summary}"]
    for row in rows_json(spec):
        letter = f"{row['letter']}. " if row["letter"] else ""
        lines += ["", f"{letter}{row['name']}: {row['event']} {'|'.join(row['from'])} -> {row['to'] or '(stays)'}"]
        lines.append(f"    when   {row['guard'] or 'always'}")
        lines += [f"    then   {effect}" for effect in row["effects"]]
        lines.append(f"    why    {row['why']}")
    click.echo(wrap("\n".join(lines), width))
    return ExitCode.HOLDS


@cli.command()
@click.argument("paths", nargs=-1, metavar="[SPEC]...")
@spec_option(multiple=True, help="A variant or a table's TOML file to validate; repeatable. Default: both variants.")
@output_options
@guarded
def validate(paths: tuple[str, ...], specs: tuple[str, ...], as_json: bool, quiet: bool) -> int:
    """Load and validate tables (default: both variants); exit 2 on the first error."""
    found = []
    for name in (*specs, *paths) or ("proposal", "resolved"):
        spec = load_spec(name)
        found.append({"spec": name, "variant": spec.name, "transitions": len(spec.transitions), "valid": True})
        found[-1]["properties"] = len(spec.properties)
        if not as_json:
            click.echo(f"{spec.name}: {len(spec.transitions)} transitions, {len(spec.properties)} properties: valid")
    if as_json:
        click.echo(json.dumps(found, indent=2))
    return ExitCode.HOLDS


def main() -> None:
    """The installed entry point: Ctrl-C anywhere (even while the options are
    read) ends as ``interrupted`` and exit 130, never click's "Aborted!"."""
    try:
        code = cli.main(prog_name="virtio-notifier-spec", standalone_mode=False)
    except click.exceptions.Abort:
        say("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else ExitCode.HOLDS)


def _register() -> None:
    """The other command groups, one module each (cli/README.md)."""
    from .designs import designs
    from .diff import diff
    from .draw import draw
    from .graph import graph
    from .liveness import liveness
    from .mutants import mutants
    from .oracle import oracle
    from .prove import prove
    from .qemu import qemu
    from .replay import replay
    from .scale import scale
    from .simulate import simulate_command

    for command in (
        draw,
        oracle,
        mutants,
        prove,
        scale,
        replay,
        diff,
        designs,
        liveness,
        graph,
        simulate_command,
        qemu,
    ):
        cli.add_command(command)


_register()
