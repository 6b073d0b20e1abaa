"""The oracle's command line: ``virtio-notifier-spec oracle check | drive``.

``oracle check TRACE`` judges a trace an implementation wrote
(``spec/TRACE.md``); ``oracle drive -- COMMAND`` runs an implementation that
speaks the drive protocol (``spec/PROTOCOL.md``) through tests generated
from the table. They live under ``oracle`` because the top-level ``check``
is the explorer's.

Exit codes: 0 the implementation conforms, 1 it diverges (or fails to
answer), 2 bad input or usage (one line naming the file, line and field).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable

import click
from virtio_notifier_spec.oracle.conformance import Verdict, check_trace, divergence_text, open_trace
from virtio_notifier_spec.oracle.drive import drive as run_drive
from virtio_notifier_spec.oracle.implementation import Implementation, ModelImplementation
from virtio_notifier_spec.oracle.junit import junit_xml
from virtio_notifier_spec.oracle.process import ProcessImplementation
from virtio_notifier_spec.oracle.testgen import generate
from virtio_notifier_spec.oracle.tracefile import parse_header
from virtio_notifier_spec.oracle.traceschema import schema_text
from virtio_notifier_spec.reference.implementation import reference_implementation
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import ADVERSARIAL
from virtio_notifier_spec.spec.schema import Spec

from .env import env_option

CONFORMS, DIVERGES, BAD_INPUT = 0, 1, 2
SPEC_HELP = "A variant (proposal, resolved) or the path of a table's TOML file."


def _guarded(command: Callable[[], int]) -> int:
    try:
        return command()
    except SpecError as exc:
        click.echo(f"error: {exc}", err=True)
        return BAD_INPUT
    except OSError as exc:  # an output file that cannot be written
        click.echo(f"error: {exc.filename or ''}: {exc.strerror or exc}", err=True)
        return BAD_INPUT


def _usage(message: str) -> int:
    click.echo(f"error: {message}", err=True)
    return BAD_INPUT


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def oracle() -> None:
    """Judge another implementation against the table: by its trace (check)
    or by driving it through generated tests (drive)."""


# -- check ----------------------------------------------------------------------


@oracle.command("check")
@click.argument("trace", metavar="TRACE")
@click.option(
    "--spec", "spec_name", default=None, help=SPEC_HELP + " Default: the variant named in the trace's header."
)
@click.option("--all", "show_all", is_flag=True, help="Go on after a divergence and list several.")
@click.option(
    "--max",
    "max_divergences",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="With --all: stop after this many divergences.",
)
@click.option(
    "--example",
    "example_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the first divergence's shortest replayable example (a trace) here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@env_option
def check_command(
    trace: str,
    spec_name: str | None,
    show_all: bool,
    max_divergences: int,
    example_path: str | None,
    as_json: bool,
    env: str,
) -> None:
    """Replay TRACE (a JSON Lines file, `-` for stdin) on the table and report
    where it first diverges: the line, the event, the transition the spec
    fires there, expected against observed, and a short replayable example.

    The trace is streamed: any length is checked in constant memory.
    """

    def body() -> int:
        stream = open_trace(trace)
        try:
            table, lines = _in_env(stream, spec_name, env, trace)
            verdict = check_trace(lines, file=trace, spec=table, max_divergences=max_divergences if show_all else 1)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
        if example_path and verdict.divergences and verdict.divergences[0].example:
            with open(example_path, "w", encoding="utf-8") as out:
                out.write("\n".join(verdict.divergences[0].example) + "\n")
        _print_verdict(verdict, as_json)
        return CONFORMS if verdict.ok else DIVERGES

    sys.exit(_guarded(body))


class _Rewound:
    """A trace stream whose header line was read already, offered again."""

    def __init__(self, first: bytes, rest) -> None:
        self.first, self.rest = first, rest

    def readline(self) -> bytes:
        first, self.first = self.first, b""
        return first or self.rest.readline()

    def __iter__(self):
        return iter(self.rest)


def _in_env(stream, spec_name: str | None, env: str, trace: str):
    """The table to judge by in ``env`` (``--spec``, else the header's
    variant), and the stream to check."""
    if env == ADVERSARIAL:
        return spec_name, stream
    first = stream.readline()
    variant = spec_name or (parse_header(first, file=trace).variant if first else "resolved")
    return load_spec(variant, env=env), _Rewound(first, stream)


def _print_verdict(verdict: Verdict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(verdict.to_json(), indent=2))
        return
    where = (
        f"{verdict.file}: {verdict.events} event(s), {verdict.queues} queue(s), "
        f"limited={'true' if verdict.limited else 'false'}"
    )
    if verdict.ok:
        click.echo(f"{where}: conforms to {verdict.variant}")
        return
    for d in verdict.divergences:
        click.echo(divergence_text(verdict, d))
    more = "" if verdict.complete else f" (checked up to line {verdict.divergences[-1].line})"
    click.echo(f"{where}: {len(verdict.divergences)} divergence(s) from {verdict.variant}{more}")


# -- drive ----------------------------------------------------------------------


def _builtin(name: str, spec: Spec) -> Implementation:
    """``reference``, ``reference:MUTANT`` or ``model:VARIANT``."""
    kind, _, arg = name.partition(":")
    if kind == "model" and arg:
        return ModelImplementation(load_spec(arg, env=spec.env))
    if kind == "reference" and not arg:
        return reference_implementation(spec)
    if kind == "reference":
        from virtio_notifier_spec.reference.mutants import MUTANTS

        found = {m.name: m for m in MUTANTS}
        if arg not in found:
            raise SpecError(f"no mutant {arg!r} (known: {', '.join(found)})", field="--builtin")
        return reference_implementation(spec, found[arg].device, name=f"reference:{arg}")
    raise SpecError(f"expected reference, reference:MUTANT or model:VARIANT, found {name!r}", field="--builtin")


@oracle.command("drive", context_settings={"ignore_unknown_options": True})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--builtin",
    help="Drive an in-process implementation instead of a command: reference, reference:MUTANT or model:VARIANT.",
)
@click.option("--spec", "spec_name", default="resolved", show_default=True, help=SPEC_HELP)
@click.option("--queues", type=click.IntRange(1, 8), default=2, show_default=True, help="Queues per device.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random walks.")
@click.option("--walks", type=click.IntRange(min=0), default=20, show_default=True, help="Random walks.")
@click.option("--walk-length", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--no-tour", is_flag=True, help="Skip the (state, event) tour.")
@click.option("--no-pairs", is_flag=True, help="Skip the consecutive-transition pairs.")
@click.option(
    "--timeout", type=click.FloatRange(min=0.01), default=5.0, show_default=True, help="Seconds to wait for each reply."
)
@click.option(
    "--max-failures",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Stop running tests after this many fail.",
)
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, writable=True), help="Write JUnit XML here.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@env_option
def drive_command(
    command: tuple[str, ...],
    builtin: str | None,
    spec_name: str,
    queues: int,
    seed: int,
    walks: int,
    walk_length: int,
    no_tour: bool,
    no_pairs: bool,
    timeout: float,
    max_failures: int,
    junit_path: str | None,
    as_json: bool,
    env: str,
) -> None:
    """Run COMMAND (after `--`) as a child speaking the drive protocol
    (spec/PROTOCOL.md) through tests generated from the table: a tour of
    every reachable (state, event) pair, every pair of consecutive
    transitions, and seeded random walks. Reports coverage and the first
    failure shrunk to its shortest sequence.

    Example: virtio-notifier-spec oracle drive --queues 2 -- ./notifier
    """

    def body() -> int:
        if bool(command) == bool(builtin):
            return _usage("give either a command to run (after --) or --builtin, not both or neither")
        spec = load_spec(spec_name, env=env)
        if builtin:
            impl = _builtin(builtin, spec)
        else:
            program = command[0]
            if shutil.which(program) is None and not (os.path.isfile(program) and os.access(program, os.X_OK)):
                return _usage(f"{program}: no such executable")
            impl = ProcessImplementation(command, timeout=timeout)
        suite = generate(
            spec, queues, walks=walks, walk_length=walk_length, seed=seed, tour=not no_tour, pairs=not no_pairs
        )
        report = run_drive(spec, impl, suite, max_failures=max_failures)
        if junit_path:
            with open(junit_path, "wb") as out:
                out.write(junit_xml(report))
        if as_json:
            click.echo(json.dumps(report.to_json(), indent=2))
        else:
            click.echo(report.text())
        return CONFORMS if report.ok else DIVERGES

    sys.exit(_guarded(body))


# -- schema ---------------------------------------------------------------------


@oracle.command("schema")
@click.option("--spec", "spec_name", default="resolved", show_default=True, help=SPEC_HELP)
@env_option
def schema_command(spec_name: str, env: str) -> None:
    """Print the JSON Schema of a trace line, made from the table
    (spec/trace.schema.json is this command's output)."""

    def body() -> int:
        click.echo(schema_text(load_spec(spec_name, env=env)), nl=False)
        return CONFORMS

    sys.exit(_guarded(body))
