"""The command line: ``virtio-notifier-spec check | verify | show | validate``
and the group that adds the others.

Every command shares one flag grammar (:mod:`.options`) and one set of
exit codes (:mod:`.exitcodes`): 0 holds, 1 fails, 2 bad input, 3
incomplete (--max-states, --timeout), 4 internal error, 130 interrupted.
Bad input is one line on stderr naming file, line and field; never a
traceback (:mod:`.guard`).
"""

from __future__ import annotations

import time

import click

from virtio_notifier_spec.model.explore import Exploration
from virtio_notifier_spec.model.report import (
    coverage_table,
    environment_lines,
    exploration_json,
    failures_text,
    not_checked_lines,
    runs_table,
    span,
    verdicts_table,
)
from virtio_notifier_spec.oracle.output import check_writable
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import profile
from virtio_notifier_spec.spec.schema import Spec
from virtio_notifier_spec.spec.text import effect_text, to_text

from . import signals
from .cluster import open_cluster
from .deadline import Deadline
from .document import print_document
from .env import env_option
from .exitcodes import INTERRUPTED, ExitCode, outcome
from .export import first_counterexamples, first_lassos, write_counterexamples, write_lassos
from .guard import guarded, say, stopped_note
from .guard import run as guard_run
from .junit import write_junit
from .options import (
    depth_option,
    junit_option,
    max_states_option,
    output_options,
    property_option,
    queues_option,
    run_options,
    scheduler_option,
    spec_option,
    traces_option,
)
from .output import console, print_text, wrap
from .params import QueueRange
from .progress import Progress
from .runs import RunsInterrupted, explore_sizes, first_partial
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
    *,
    command: str = "check",
    stopped: str | None = None,
) -> None:
    """The runs, the verdicts on every kind of property and each failure
    once (a trace, or a lasso, at the smallest queue count that shows it);
    ``proofs`` (a ProofReport) adds the column "proved for all N" (for a
    liveness property: what the one-queue projection decides for every N);
    ``not_run``: queue counts left out when a run stopped. With ``as_json``,
    ``command``'s document (schemas/README.md): one result per run,
    ``stopped`` the reason the runs stopped early."""
    not_run = {k: v for k, v in (not_run or {}).items() if v}
    if as_json:
        extra: dict = {"not_run": not_run}
        if proofs is not None:
            from .prove import report_json

            extra["proofs"] = report_json(proofs)
        results = [exploration_json(r) for runs in by_variant.values() for r in runs]
        print_document(command, results, stopped=stopped, **extra)
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
        for runs in by_variant.values():  # what the environment left out: every verdict says so
            for line in environment_lines(runs[0].spec, runs[0].every_check):
                print_text(out, line)
    else:
        from .prove import print_failures, proof_cell

        proved = {p.name: proof_cell(proofs, p.name) for p in proofs.proofs}
        proved |= _every_n(next(iter(by_variant.values()))[0].spec)
        out.print(verdicts_table(by_variant, proved))
        for runs in by_variant.values():  # what the environment left out: every verdict says so
            for line in environment_lines(runs[0].spec, runs[0].every_check):
                print_text(out, line)
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
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Threads for the packed engine; with --scheduler local, the local cluster's processes.",
)
@scheduler_option
@junit_option
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
    scheduler: str | None,
    junit_path: str | None,
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
    if junit_path:
        check_writable(junit_path, "--junit")
    spec = restrict(load_spec(spec_name, env=env), properties)
    deadline = Deadline(timeout)
    began = time.monotonic()
    try:
        with Progress(spec.name, quiet=quiet) as progress, open_cluster(scheduler, workers) as cluster:
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
                workers=1 if cluster else workers,
                cluster=cluster,
            )
    except RunsInterrupted as stop:  # Ctrl-C outside a search: the JUnit report still says what was decided
        if junit_path:
            done = [only(r, properties) for r in stop.runs]
            write_junit(junit_path, "check", done, time.monotonic() - began, not_run={spec.name: stop.not_run})
        raise
    results = [only(r, properties) for r in runs]
    partial = first_partial({spec.name: results}, bool(skipped))
    print_results({spec.name: results}, as_json, not_run={spec.name: skipped}, stopped=partial)
    if not as_json:
        console().print(coverage_table(results[-1]))
    if traces_dir is not None:
        write_counterexamples(traces_dir, spec, spec_name, first_counterexamples(spec.name, results))
        write_lassos(traces_dir, spec, spec_name, first_lassos(results))
    stopped_note(partial)
    vacuous = any(r.verdict(name) == "vacuous" for r in results for name in r.every_check)
    seconds = time.monotonic() - began
    if junit_path and not write_junit(junit_path, "check", results, seconds, not_run={spec.name: skipped}):
        return ExitCode.INTERNAL
    return outcome(failed=any(r.failed for r in results), partial=partial, vacuous=vacuous)


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
@junit_option
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
    junit_path: str | None,
    env: str,
) -> int:
    """Check a table (resolved) beside proposal and prove it; exit 0 when it satisfies everything.

    Every kind of property, as check does (the properties of infinite runs
    too), then the Z3 proofs of the table for every number of queues. The
    verdicts on `proposal` (the message read literally) are reported, not
    required: spec/README.md explains each failure.
    """
    if junit_path:
        check_writable(junit_path, "--junit")
    deadline = Deadline(timeout)
    began = time.monotonic()
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
            try:
                by_variant[name], not_run[name] = explore_sizes(
                    spec, sizes, deadline, progress, spec_arg=spec_arg, depth=depth
                )
            except RunsInterrupted as stop:  # the JUnit report still says what was decided
                if junit_path:
                    by_variant[name], not_run[name] = stop.runs, stop.not_run
                    left = {other: list(more[2]) for other, more in plan.items() if other not in by_variant}
                    runs = [r for found in by_variant.values() for r in found]
                    write_junit(junit_path, "verify", runs, time.monotonic() - began, not_run=not_run | left)
                raise
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
            if proofs is not None and proofs.vacuous and not proofs.violated:
                partial = f"vacuous in the {env} environment: {', '.join(proofs.vacuous)}"
            elif proofs is not None and not proofs.ok and not proofs.violated:
                partial = f"a proof of {verified.name} is undecided (unknown)"
    print_results(by_variant, as_json, proofs, not_run, command="verify", stopped=partial)
    stopped_note(partial)
    if junit_path:
        runs = [r for found in by_variant.values() for r in found]
        seconds = time.monotonic() - began
        if not write_junit(junit_path, "verify", runs, seconds, proofs=proofs, not_run=not_run):
            return ExitCode.INTERNAL
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


def env_json(spec: Spec) -> dict:
    """The conditions of the environment ``spec`` was loaded in."""
    env = profile(spec, spec.env)
    return {
        "name": env.name,
        "doc": env.doc,
        "exhaustive": env.exhaustive,
        "events": [
            {"event": r.event, "remove": r.remove, "when": to_text(r.when) if r.when else None, "why": r.why}
            for r in env.events
        ],
        "variables": [{"variable": r.variable, "init": list(r.init), "why": r.why} for r in env.variables],
    }


def _shown(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@cli.command()
@spec_option()
@output_options
@env_option
@guarded
def show(spec_name: str, as_json: bool, quiet: bool, env: str) -> int:
    """Print the table: each row with its letter, guard, effects and reason,
    after the environment's conditions (--env: events removed or offered
    only when a condition holds, initial values narrowed, each with its
    reason)."""
    spec = load_spec(spec_name, env=env)
    conditions = env_json(spec)
    if as_json:
        shown = {"variant": spec.name, "summary": spec.summary, "env": conditions, "rows": rows_json(spec)}
        print_document("show", [shown])
        return ExitCode.HOLDS
    width = console().width
    lines = [f"{spec.name}: {spec.summary}", "", f"environment {conditions['name']}: {conditions['doc']}"]
    for rule in conditions["events"]:
        what = "removed" if rule["remove"] else f"only when {rule['when']}"
        lines.append(f"    {rule['event']}: {what}")
        lines.append(f"        why  {rule['why']}")
    for rule in conditions["variables"]:
        lines.append(f"    {rule['variable']} starts {', '.join(_shown(v) for v in rule['init'])}")
        lines.append(f"        why  {rule['why']}")
    if not conditions["events"] and not conditions["variables"]:
        lines.append("    no condition: every event of the table, every initial value")
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
@env_option
@guarded
def validate(paths: tuple[str, ...], specs: tuple[str, ...], as_json: bool, quiet: bool, env: str) -> int:
    """Load and validate tables (default: both variants); exit 2 on the first error."""
    found = []
    for name in (*specs, *paths) or ("proposal", "resolved"):
        spec = load_spec(name, env=env)
        found.append({"spec": name, "variant": spec.name, "transitions": len(spec.transitions), "valid": True})
        found[-1]["properties"] = len(spec.properties)
        if not as_json:
            click.echo(f"{spec.name}: {len(spec.transitions)} transitions, {len(spec.properties)} properties: valid")
    if as_json:
        print_document("validate", found)
    return ExitCode.HOLDS


def run() -> int:
    """The command line's exit code: the commands run under their guard
    (:mod:`.guard`); what happens around them, while the options are read
    or the help is printed, is guarded here the same way (Ctrl-C is
    ``interrupted``, never click's "Aborted!"; help written to a full disk
    is one line and exit 4)."""

    def parse_and_run() -> int:
        try:
            code = cli.main(prog_name="virtio-notifier-spec", standalone_mode=False)
        except click.exceptions.Abort:
            say(signals.name())
            return signals.exit_code()
        except click.ClickException as exc:
            exc.show()
            return exc.exit_code
        except SystemExit as done:  # a command's guard ends with its code
            if done.code is None:
                return ExitCode.HOLDS
            return done.code if isinstance(done.code, int) else ExitCode.INTERNAL
        return code if isinstance(code, int) else ExitCode.HOLDS

    return guard_run(parse_and_run)


def main() -> None:
    """The installed entry point (:func:`.entry.main`)."""
    from .entry import main as entry

    entry()


def _register() -> None:
    """The other command groups, one module each (cli/README.md)."""
    from .designs import designs
    from .diff import diff
    from .draw import draw
    from .graph import graph
    from .liveness import liveness
    from .models import export
    from .mutants import mutants
    from .oracle import oracle
    from .prove import prove
    from .qemu import qemu
    from .replay import replay
    from .scale import scale
    from .schema import schema
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
        schema,
        export,
    ):
        cli.add_command(command)


_register()
