"""The command line: ``virtio-notifier-spec check | verify | show | validate``.

Exit codes, everywhere: 0 every property holds, 1 a property fails (or the
run stopped before it could tell), 2 bad input or usage. Bad input is one
line on stderr naming file, line and field; never a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from virtio_notifier_spec.model.explore import Exploration
from virtio_notifier_spec.model.report import (
    counterexample_text,
    coverage_table,
    exploration_json,
    runs_table,
    verdicts_table,
)
from virtio_notifier_spec.scale.search import explore
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import Spec
from virtio_notifier_spec.spec.text import effect_text, to_text

from .env import env_option
from .params import QueueRange, Seconds

HOLDS, FAILS, BAD_INPUT = 0, 1, 2


class _Progress:
    """A progress line on stderr, shown only once a run has lasted a second."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label = label
        self.began = time.monotonic()
        self.quiet = quiet
        self.bar: Progress | None = None
        self.task = None

    def __call__(self, states: int, edges: int, depth: int) -> None:
        if self.quiet or time.monotonic() - self.began < 1.0:
            return
        if self.bar is None:
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=None, info="")
        rate = states / max(time.monotonic() - self.began, 1e-9)
        self.bar.update(self.task, info=f"{states:,} states  {rate:,.0f}/s  depth {depth}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _run(spec: Spec, queues: int, quiet: bool, **limits) -> Exploration:
    progress = _Progress(f"{spec.name}, {queues} queue(s)", quiet)
    try:
        return explore(spec, queues, progress=progress, **limits)
    finally:
        progress.close()


def _load(name: str, env: str | None = None) -> Spec:
    return load_spec(name) if env is None else load_spec(name, env=env)


def _guarded(command: Callable[..., int]) -> int:
    try:
        return command()
    except SpecError as exc:
        click.echo(f"error: {exc}", err=True)
        return BAD_INPUT


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="virtio-notifier-spec")
def cli() -> None:
    """Specification and model checker of the virtqueue ioeventfd notifier machine."""


SPEC_HELP = "A variant (proposal, resolved) or the path of a table's TOML file."


@cli.command()
@click.option("--spec", "spec_name", default="resolved", show_default=True, help=SPEC_HELP)
@click.option(
    "--queues",
    type=QueueRange(),
    default="2",
    show_default=True,
    help="Queues per device: N, or a range A-B explored one size at a time.",
)
@click.option("--max-states", type=click.IntRange(min=1), help="Stop after this many states (partial).")
@click.option("--timeout", type=Seconds(), help="Stop after this many seconds (partial).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.option("--quiet", is_flag=True, help="No progress display.")
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
def check(
    spec_name: str,
    queues: range,
    max_states,
    timeout,
    as_json: bool,
    quiet: bool,
    symmetry: bool,
    env: str,
    engine: str,
    workers: int,
) -> None:
    """Explore every reachable state and check every property of one table.

    Both values of the host's limit flag are explored. A failing property
    is shown with a shortest trace from the start.
    """

    def body() -> int:
        spec = _load(spec_name, env)
        results = [
            _run(
                spec,
                n,
                quiet or as_json,
                max_states=max_states,
                timeout=timeout,
                symmetry=symmetry,
                engine=engine,
                workers=workers,
            )
            for n in queues
        ]
        _print_results({spec.name: results}, as_json)
        if not as_json:
            _console().print(coverage_table(results[-1]))
        return HOLDS if all(r.ok for r in results) else FAILS

    sys.exit(_guarded(body))


@cli.command()
@click.option("--resolved-queues", type=QueueRange(), default="1-6", show_default=True)
@click.option("--proposal-queues", type=QueueRange(), default="1-4", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.option("--quiet", is_flag=True, help="No progress display.")
@env_option
def verify(resolved_queues: range, proposal_queues: range, as_json: bool, quiet: bool, env: str) -> None:
    """Check both variants; exit 0 when `resolved` satisfies everything.

    The verdicts on `proposal` (the message read literally) are reported,
    not required: spec/README.md explains each failure.
    """

    def body() -> int:
        plan = {"resolved": resolved_queues, "proposal": proposal_queues}
        by_variant = {}
        for name, sizes in plan.items():
            spec = _load(name, env)
            by_variant[name] = [_run(spec, n, quiet or as_json) for n in sizes]
        # Then the Z3 proofs of `resolved` for every number of queues (issue 3).
        from virtio_notifier_spec.proofs.prove import prove as prove_table

        proofs = prove_table(_load("resolved", env))
        # Then the properties of infinite runs, at the same queue counts (liveness.py).
        from .liveness import check_every

        live = {name: check_every(_load(name, env), sizes, symmetry="auto") for name, sizes in plan.items()}
        _print_results(by_variant, as_json, proofs, live)
        explored = all(r.ok for r in by_variant["resolved"]) and all(r.ok for r in live["resolved"])
        return HOLDS if explored and proofs.ok else FAILS

    sys.exit(_guarded(body))


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _print_results(by_variant: dict[str, list[Exploration]], as_json: bool, proofs=None, live=None) -> None:
    """``proofs``: a ProofReport (verify) shown as the "proved for all N" column;
    ``live``: liveness runs per variant (verify), rows of the same table."""
    from . import liveness

    if as_json:
        document = {name: [exploration_json(r) for r in runs] for name, runs in by_variant.items()}
        if proofs is not None:
            from .prove import report_json

            document["proofs"] = report_json(proofs)
        if live is not None:
            document["liveness"] = {name: liveness.runs_json(runs) for name, runs in live.items()}
        click.echo(json.dumps(document, indent=2, sort_keys=False))
        return
    console = _console()
    console.print(runs_table(r for runs in by_variant.values() for r in runs))
    for runs in by_variant.values():  # why a reduced search is not the one asked for
        for r in runs:
            for note in r.notes:
                console.print(f"note: {r.spec.name}, {r.queues} queue(s): {note}", markup=False, soft_wrap=True)
    if proofs is None:
        console.print(verdicts_table(by_variant))
    else:
        from .prove import print_failures, proof_cell

        table = verdicts_table(by_variant, {p.name: proof_cell(proofs, p.name) for p in proofs.proofs})
        if live is not None:
            liveness.add_rows(table, live, extra_columns=1)
        console.print(table)
        print_failures(console, proofs)
    for runs in (live or {}).values():
        liveness.print_failures(console, runs)
    for runs in by_variant.values():
        shown: set[str] = set()
        for r in runs:
            for name, cx in r.counterexamples.items():
                if name not in shown:
                    shown.add(name)
                    console.print(counterexample_text(r, cx), markup=False, soft_wrap=True)
                    console.print()
        dead = sorted({d for r in runs for d in r.dead})
        if dead:
            console.print(f"dead transitions in {runs[0].spec.name}: {', '.join(dead)}", markup=False)


@cli.command()
@click.option("--spec", "spec_name", default="resolved", show_default=True, help=SPEC_HELP)
@env_option
def show(spec_name: str, env: str) -> None:
    """Print the table: each row with its letter, guard, effects and reason."""

    def body() -> int:
        spec = _load(spec_name, env)
        click.echo(f"{spec.name}: {spec.summary}")
        for row in spec.transitions:
            letter = f"{row.letter}. " if row.letter else ""
            to = row.target or "(stays)"
            guard = "otherwise" if row.otherwise else (to_text(row.guard) if row.guard else "always")
            click.echo(f"\n{letter}{row.name}: {row.event} {'|'.join(row.sources)} -> {to}")
            click.echo(f"    when   {guard}")
            for effect in row.effects:
                click.echo(f"    then   {effect_text(effect)}")
            click.echo(f"    why    {row.why}")
        return HOLDS

    sys.exit(_guarded(body))


@cli.command()
@click.argument("specs", nargs=-1)
def validate(specs: tuple[str, ...]) -> None:
    """Load and validate tables (default: both variants); exit 2 on the first error."""

    def body() -> int:
        for name in specs or ("proposal", "resolved"):
            spec = _load(name)
            click.echo(f"{spec.name}: {len(spec.transitions)} transitions, {len(spec.properties)} properties: valid")
        return HOLDS

    sys.exit(_guarded(body))


def main() -> None:
    cli(prog_name="virtio-notifier-spec")


from .draw import draw  # noqa: E402  (the drawings: issue 5)

cli.add_command(draw)


# The oracle (issue 6): `oracle check TRACE` and `oracle drive -- COMMAND`; see oracle_cli.py.
from .oracle import oracle  # noqa: E402

cli.add_command(oracle)


# The reference implementation's mutants (issue 4): `mutants`; see mutants_cli.py.
from .mutants import mutants  # noqa: E402

cli.add_command(mutants)


# The Z3 proofs (issue 3): `prove`; see prove_cli.py and proofs/README.md.
from .prove import prove  # noqa: E402

cli.add_command(prove)


# The checks at scale (issue 7): `scale`; see scale_cli.py.
from .scale import scale  # noqa: E402

cli.add_command(scale)


# What changed between two tables, as text or JSON: `diff`; see diff.py.
from .diff import diff  # noqa: E402

cli.add_command(diff)


# Real hypervisors judged: `designs`; see designs.py and designs/README.md.
from .designs import designs  # noqa: E402

cli.add_command(designs)


# Properties of infinite runs: `liveness`; see liveness.py.
from .liveness import liveness  # noqa: E402

cli.add_command(liveness)
