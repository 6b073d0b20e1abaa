"""The oracle's command line: ``virtio-notifier-spec oracle check | drive | replay | schema``.

``oracle check TRACE`` judges a trace an implementation wrote
(``spec/TRACE.md``); ``oracle drive -- COMMAND`` runs an implementation that
speaks the drive protocol (``spec/PROTOCOL.md``) through tests generated
from the table; ``oracle replay`` runs one sequence against it, step by
step. They live under ``oracle`` because the top-level ``check`` is the
explorer's.

Exit codes (``cli/exitcodes.py``): 0 the implementation conforms, 1 it
diverges, fails to answer, or observes nothing the table can check, 2 bad
input or usage (one line naming the file, line and field; output paths are
checked before anything runs), 3 stopped at --timeout, 4 an internal
error (an I/O failure, a bug of the oracle: one line), 130 interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import sys
import time
from functools import partial

import click

from virtio_notifier_spec.model.explore import INTERRUPTED, TIMEOUT
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.oracle.conformance import Verdict, check_trace, divergence_text, groups_text, open_trace
from virtio_notifier_spec.oracle.drive import DriveProgress
from virtio_notifier_spec.oracle.drive import drive as run_drive
from virtio_notifier_spec.oracle.fields import declared_fields
from virtio_notifier_spec.oracle.implementation import Implementation, ModelImplementation
from virtio_notifier_spec.oracle.junit import junit_xml
from virtio_notifier_spec.oracle.output import write_whole
from virtio_notifier_spec.oracle.process import ProcessImplementation
from virtio_notifier_spec.oracle.replay import replay as run_replay
from virtio_notifier_spec.oracle.sequence import parse_sequence
from virtio_notifier_spec.oracle.testgen import generate, observed_starts
from virtio_notifier_spec.oracle.tracefile import LINE_READ, RecordReader, TraceError, parse_header, read_line
from virtio_notifier_spec.oracle.traceschema import schema_text
from virtio_notifier_spec.reference.implementation import reference_implementation
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.limits import MAX_QUEUES
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import ADVERSARIAL
from virtio_notifier_spec.spec.schema import Spec

from . import signals
from .deadline import Deadline
from .document import print_document
from .env import ENV_HELP, env_option
from .exitcodes import ExitCode, outcome
from .guard import guarded
from .options import SPEC_HELP, output_options, queues_option, quiet_option, run_options, spec_option
from .output import echo, writing
from .params import OutputFile, Seconds
from .progress import Progress

MAX_DRIVE_QUEUES = MAX_QUEUES
#: Bounds of the random walks (a suite is made whole before it runs).
MAX_WALKS, MAX_WALK_LENGTH = 100_000, 10_000


def _usage(message: str) -> int:
    click.echo(f"error: {message}", err=True)
    return ExitCode.BAD_INPUT


def _write_after(path: str | None, data: bytes | None, option: str) -> None:
    """Write an output file once the report is printed; a failure now is
    :class:`.output.OutputLost` (exit 4), and the report is already out."""
    if path is None or data is None:
        return
    with writing(f"{option} {path}"):
        write_whole(path, data)


def _stop_when(deadline: Deadline):
    """``should_stop`` for the oracle's loops: ``timeout`` once the deadline passed."""
    return lambda: "timeout" if deadline.expired else None


def _partial(stopped: str | None) -> str | None:
    """A run's stop reason as :func:`~.exitcodes.outcome` reads it."""
    if stopped is None:
        return None
    return INTERRUPTED if stopped == INTERRUPTED else TIMEOUT


def _stopped(stopped: str | None) -> str | None:
    """A run's stop reason as the JSON envelope's ``stopped`` says it."""
    if stopped is None:
        return None
    return signals.name() if stopped == INTERRUPTED else TIMEOUT


def _declared(spec: Spec, observe: str | None) -> tuple[str, ...] | None:
    return None if observe is None else declared_fields(spec, observe, "--observe")


OBSERVE_OPTION = click.option(
    "--observe",
    metavar="FIELDS",
    help="The fields the implementation observes, comma-separated (e.g. state,pending,handled): only they are "
    "judged, and every step must give them. Default: what the implementation declares (protocol 3 hello, trace "
    "header's observes), else what each step gives.",
)
TRACE_ENV_OPTION = click.option(
    "--env",
    "env",
    default=None,
    metavar="NAME",
    help=ENV_HELP + " Default: the trace header's env, else adversarial.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def oracle() -> None:
    """Judge another implementation against the table: by its trace (check),
    by driving it through generated tests (drive), or one sequence at a
    time (replay)."""


# -- check ----------------------------------------------------------------------


@oracle.command("check")
@click.argument("trace", metavar="TRACE")
@spec_option(default=None, help=SPEC_HELP + " Default: the variant named in the trace's header.")
@click.option(
    "--all", "show_all", is_flag=True, help="Read the whole trace: count every divergence by symptom and list them."
)
@click.option(
    "--max",
    "max_divergences",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="With --all: list this many divergences in full (every one is counted).",
)
@click.option(
    "--example",
    "example_path",
    type=OutputFile(),
    help="Write the first divergence's shortest replayable example (a trace) here.",
)
@click.option(
    "--example-seconds",
    type=Seconds(zero=True),
    default=5.0,
    show_default=True,
    help="How long to search for each example before saying none was found.",
)
@click.option("--allow-unobserved", is_flag=True, help="Do not fail a trace that observes nothing the table can check.")
@OBSERVE_OPTION
@run_options
@TRACE_ENV_OPTION
@guarded
def check_command(
    trace: str,
    spec_name: str | None,
    show_all: bool,
    max_divergences: int,
    example_path: str | None,
    example_seconds: float,
    allow_unobserved: bool,
    observe: str | None,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    env: str | None,
) -> int:
    """Replay TRACE (a JSON Lines file, `-` for stdin) on the table and report
    where it diverges: the line, the event, the transition the spec fires
    there, expected against observed, and a short replayable example.

    The trace is streamed: any length is checked in bounded memory.
    --timeout and Ctrl-C stop it and report the lines checked so far.
    """
    stream = open_trace(trace)
    deadline = Deadline(timeout)
    try:
        read = (lambda: f"{stream.tell():,} bytes read") if stream.seekable() else None
        with Progress(f"oracle check {trace}", quiet=quiet, poll=read):
            verdict = check_trace(
                stream,
                file=trace,
                spec=spec_name,
                env=env,
                max_divergences=max_divergences if show_all else 1,
                example_seconds=example_seconds,
                require_observation=not allow_unobserved,
                declared=observe,
                should_stop=_stop_when(deadline),
            )
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    _print_verdict(verdict, as_json)
    first = verdict.divergences[0] if verdict.divergences else None
    example = ("\n".join(first.example) + "\n").encode() if first and first.example else None
    _write_after(example_path, example, "--example")
    return outcome(
        failed=(not verdict.ok and verdict.stopped is None) or bool(verdict.divergences),
        partial=_partial(verdict.stopped),
    )


def _print_verdict(verdict: Verdict, as_json: bool) -> None:
    if as_json:
        print_document("oracle check", [verdict.to_json()], stopped=_stopped(verdict.stopped))
        return
    where = (
        f"{verdict.file}: {verdict.events} event(s), {verdict.queues} queue(s), "
        f"limited={'true' if verdict.limited else 'false'}, {verdict.env} environment"
    )
    observed = verdict.observation.text()
    props = verdict.observation.properties_text()
    if props:
        observed += f"\n{props}"
    if verdict.stopped is not None and not verdict.divergences:
        what = "interrupted" if verdict.stopped == INTERRUPTED else "stopped at --timeout"
        echo(f"{where}: {what}; the lines read so far conform to {verdict.variant}; {observed}")
        return
    if verdict.ok:
        echo(f"{where}: conforms to {verdict.variant}; {observed}")
        return
    if verdict.unobserved and not verdict.divergences:
        echo(
            f"{where}: observes nothing the table can check, so only the events were checked (they conform to "
            f"{verdict.variant}); add `observed` fields, or pass --allow-unobserved"
        )
        return
    for d in verdict.divergences:
        readable = d if d.example is None else dataclasses.replace(d, example=readable_example(d.example))
        echo(divergence_text(verdict, readable))
    if len(verdict.groups) > 1 or sum(g.count for g in verdict.groups) > len(verdict.divergences):
        echo(groups_text(verdict))
    total = sum(g.count for g in verdict.groups)
    more = "" if verdict.complete else f" (stopped at line {verdict.divergences[-1].line}; --all reads on)"
    if verdict.stopped is not None:
        what = "interrupted" if verdict.stopped == INTERRUPTED else "stopped at --timeout"
        more = f" ({what} after line {verdict.events + 1})"
    echo(f"{where}: {total} divergence(s) from {verdict.variant}{more}; {observed}")


def readable_example(lines: tuple[str, ...]) -> tuple[str, ...]:
    """An example trace's lines as the events ``replay`` and ``oracle replay
    --sequence`` read, one a line and no wider than the text around them
    (``--example FILE`` writes the trace itself).

    >>> readable_example(('{"format":"virtio-notifier-trace","version":1,"variant":"resolved","queues":1,'
    ...     '"limited":false}', '{"event":"kick","args":{"queue":0},"observed":{}}'))
    ('start(limited=false)', 'kick(queue=0)')
    """

    def value(x: object) -> str:
        return str(x).lower() if isinstance(x, bool) else str(x)

    found = []
    for line in lines:
        doc = json.loads(line)
        if "format" in doc:
            found.append(f"start(limited={value(bool(doc.get('limited')))})")
        else:
            args = ", ".join(f"{k}={value(v)}" for k, v in (doc.get("args") or {}).items())
            found.append(f"{doc['event']}({args})")
    return tuple(found)


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


def _implementation(
    command: tuple[str, ...], builtin: str | None, spec: Spec, timeout: float, protocol: str
) -> Implementation | int:
    """The implementation to test, or an exit code for bad usage."""
    if bool(command) == bool(builtin):
        return _usage("give either a command to run (after --) or --builtin, not both or neither")
    if builtin:
        return _builtin(builtin, spec)
    program = command[0]
    if shutil.which(program) is None and not (os.path.isfile(program) and os.access(program, os.X_OK)):
        return _usage(f"{program}: no such executable")
    return ProcessImplementation(
        command, timeout=timeout, protocol=None if protocol == "auto" else int(protocol), env=spec.env
    )


def _drive_status(p: DriveProgress) -> str:
    if p.phase == "tests":
        return f"tests {p.done:,}/{p.total:,}, {p.failed} failed"
    if p.phase == "generating":
        return f"generating the suite: {p.done:,} states or orbits walked"
    return f"shrinking and confirming symptom {p.done + 1} of {p.total}"


PROTOCOL_OPTION = click.option(
    "--protocol",
    type=click.Choice(["auto", "1", "2", "3"]),
    default="auto",
    show_default=True,
    help="Protocol version: auto offers 3 (request ids, the environment, declared fields) and speaks an older "
    "one with a child that does not accept it.",
)
REPLY_TIMEOUT_OPTION = click.option(
    "--reply-timeout",
    type=Seconds(minimum=0.01),
    default=5.0,
    show_default=True,
    help="Seconds to wait for each reply.",
)
BUILTIN_OPTION = click.option(
    "--builtin",
    help="Drive an in-process implementation instead of a command: reference, reference:MUTANT or model:VARIANT.",
)


@oracle.command("drive", context_settings={"ignore_unknown_options": True})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@BUILTIN_OPTION
@spec_option()
@queues_option(default="2", single=True, maximum=MAX_DRIVE_QUEUES)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random walks.")
@click.option("--walks", type=click.IntRange(0, MAX_WALKS), default=20, show_default=True, help="Random walks.")
@click.option(
    "--walk-length", type=click.IntRange(1, MAX_WALK_LENGTH), default=50, show_default=True, help="Events per walk."
)
@click.option("--no-tour", is_flag=True, help="Skip the (state, event) tour.")
@click.option("--no-pairs", is_flag=True, help="Skip the consecutive-transition pairs.")
@click.option(
    "--symmetry",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="Tour one state per orbit of the queues (on), every state (off), or orbits above 3 queues when the table's "
    "queues are interchangeable (auto).",
)
@REPLY_TIMEOUT_OPTION
@PROTOCOL_OPTION
@click.option(
    "--max-failures",
    type=click.IntRange(min=1),
    default=None,
    help="Stop running tests after this many fail (default: run them all, and show every symptom).",
)
@click.option(
    "--all",
    "run_all",
    is_flag=True,
    help="Run every test, those that begin with a sequence that crashed the implementation too (by default they "
    "are not run: they would crash again at the same place), and never stop at --max-failures.",
)
@click.option("--no-shrink", is_flag=True, help="Report failing tests as they failed, without shrinking.")
@click.option(
    "--allow-unobserved",
    is_flag=True,
    help="Do not fail an implementation that observes nothing the table can check, or some field at some steps only.",
)
@OBSERVE_OPTION
@click.option("--junit", "junit_path", type=OutputFile(), help="Write JUnit XML here.")
@run_options
@env_option
@guarded
def drive_command(
    command: tuple[str, ...],
    builtin: str | None,
    spec_name: str,
    queues: range,
    seed: int,
    walks: int,
    walk_length: int,
    no_tour: bool,
    no_pairs: bool,
    symmetry: str,
    reply_timeout: float,
    protocol: str,
    max_failures: int | None,
    run_all: bool,
    no_shrink: bool,
    allow_unobserved: bool,
    observe: str | None,
    junit_path: str | None,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    env: str,
) -> int:
    """Run COMMAND (after `--`) as a child speaking the drive protocol
    (spec/PROTOCOL.md) through tests generated from the table: a tour of
    every reachable (state, event) pair (or, for many queues, every (orbit,
    event) pair, replayed on concrete queues), every pair of consecutive
    transitions, and seeded random walks. After a divergence a test goes on
    from the state the implementation reports (later divergences counted
    apart). Reports coverage, which fields the implementation observes (and
    which properties of the table that leaves unjudged), and each distinct
    failure with its shortest sequence, confirmed from a fresh start.

    Example: virtio-notifier-spec oracle drive --queues 2 -- ./notifier

    --timeout and Ctrl-C stop the drive and report what was decided (the
    failures found are still failures, exit 1), JUnit and JSON included.
    """
    spec = load_spec(spec_name, env=env)
    n = queues[0]
    declared = _declared(spec, observe)
    impl = _implementation(command, builtin, spec, reply_timeout, protocol)
    if isinstance(impl, int):
        return impl
    wanted = {"auto": "auto", "on": True, "off": False}[symmetry]
    began = time.monotonic()
    deadline = Deadline(timeout)
    with (
        contextlib.closing(impl),  # a stop before the tests run still ends the child
        Progress(f"oracle drive {builtin or command[0]}", quiet=quiet) as progress,
    ):

        def report_progress(p: DriveProgress) -> None:
            progress.update(_drive_status(p))

        with deadline.enforced():  # nothing is decided before the suite runs
            starts = observed_starts(Machine(spec, n), lambda limited: impl.start(n, limited))
            suite = generate(
                spec,
                n,
                walks=walks,
                walk_length=walk_length,
                seed=seed,
                tour=not no_tour,
                pairs=not no_pairs,
                symmetry=wanted,
                progress=lambda nodes: report_progress(DriveProgress("generating", nodes, 0, 0)),
                starts=starts,
            )
        report = run_drive(
            spec,
            impl,
            suite,
            max_failures=None if run_all else max_failures,
            shrink=not no_shrink,
            require_observation=not allow_unobserved,
            progress=report_progress,
            declared=declared,
            resync=True,
            skip_repeats=not run_all,
            should_stop=_stop_when(deadline),
        )
    stopped = _stopped(report.stopped)
    if as_json:
        print_document("oracle drive", [report.to_json()], stopped=stopped)
    else:
        echo(report.text())
    junit = junit_xml(report, seconds=time.monotonic() - began, stopped=stopped) if junit_path else None
    _write_after(junit_path, junit, "--junit")
    return outcome(
        failed=bool(report.failed) or report.verdict in ("unobserved", "partly_observed"),
        partial=_partial(report.stopped),
    )


# -- replay ---------------------------------------------------------------------


def _trace_events(path: str, spec_name: str | None, env: str | None):
    """(spec, queues, limited, events, declared fields) from a trace file's header and lines."""
    stream = open_trace(path)
    try:
        first = read_line(stream, file=path, number=1)
        if not first:
            raise TraceError("empty trace: line 1 must be the header", file=path, line=1)
        header = parse_header(first, file=path)
        spec = load_spec(spec_name or header.variant, env=env or header.env or ADVERSARIAL)
        reader = RecordReader(spec, header, path)
        events = tuple(
            reader.parse(line, number).instance
            for number, line in enumerate(iter(partial(stream.readline, LINE_READ), b""), 2)
        )
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    declared = None if header.observes is None else declared_fields(spec, list(header.observes), "observes")
    return spec, header.queues, header.limited, events, declared


@oracle.command("replay", context_settings={"ignore_unknown_options": True})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--sequence",
    help="The events, as drive prints them: 'start(limited=false); set_status(value=driver_ok, assign_ok=true); ...'.",
)
@click.option("--trace", "trace_path", help="Replay the events of this trace (its header gives queues and limited).")
@BUILTIN_OPTION
@spec_option(default=None, help=SPEC_HELP + " Default: resolved, or the trace's variant.")
@queues_option(
    default="2", single=True, maximum=MAX_DRIVE_QUEUES, help="Queues per device: N (with --sequence; a trace says)."
)
@click.option("--limited", is_flag=True, help="With --sequence, when it does not start with start(limited=...).")
@REPLY_TIMEOUT_OPTION
@PROTOCOL_OPTION
@OBSERVE_OPTION
@run_options
@TRACE_ENV_OPTION
@guarded
def replay_command(
    command: tuple[str, ...],
    sequence: str | None,
    trace_path: str | None,
    builtin: str | None,
    spec_name: str | None,
    queues: range,
    limited: bool,
    reply_timeout: float,
    protocol: str,
    observe: str | None,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    env: str | None,
) -> int:
    """Run one event sequence against COMMAND (after `--`) or --builtin and
    print each step: the rows the spec fires, the state it expects, what
    the implementation observed, and every field that differs.

    Example: virtio-notifier-spec oracle replay --queues 1 --sequence
    'start(limited=false); set_status(value=driver_ok, assign_ok=true); kick(queue=0); reset()' -- ./notifier
    """
    if bool(sequence) == bool(trace_path):
        return _usage("give the events either with --sequence or with --trace, not both or neither")
    if trace_path:
        spec, n, lim, events, in_header = _trace_events(trace_path, spec_name, env)
    else:
        in_header = None
        spec, n = load_spec(spec_name or "resolved", env=env or ADVERSARIAL), queues[0]
        start, events = parse_sequence(Machine(spec, n), sequence)
        lim = limited if start is None else start
    declared = _declared(spec, observe) or in_header
    impl = _implementation(command, builtin, spec, reply_timeout, protocol)
    if isinstance(impl, int):
        return impl
    with Progress(f"oracle replay {builtin or command[0]}", quiet=quiet):
        result = run_replay(spec, impl, n, lim, events, declared=declared, should_stop=_stop_when(Deadline(timeout)))
    if as_json:
        print_document("oracle replay", [result.to_json()], stopped=_stopped(result.stopped))
    else:
        echo(result.text())
    return outcome(failed=result.failed, partial=_partial(result.stopped))


# -- ingest ---------------------------------------------------------------------


@oracle.command("ingest")
@click.argument("log", metavar="LOG")
@click.option("--out", "out_path", type=OutputFile(), help="Write the trace here (default: stdout).")
@click.option(
    "--device",
    "device_register",
    metavar="SPACE:ADDRESS",
    help="The device whose notify register this is (pio:0xc010, mmio:0xfe003000), when the log has several.",
)
@queues_option(
    default=None,
    single=True,
    maximum=MAX_DRIVE_QUEUES,
    help="The device's queue count (default: the highest queue the log names, plus one).",
)
@spec_option(help=SPEC_HELP + " Written as the trace's variant (oracle check judges by it).")
@click.option(
    "--limited/--not-limited",
    default=None,
    help="The header's limited (default: QEMU's start-up probe; --limited for a vhost-user device, whose proxy never "
    "registers QEMU's own ioeventfds).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="With --out: print what was written (path, events, queues) as one JSON document.",
)
@quiet_option
@guarded
def ingest_command(
    log: str,
    out_path: str | None,
    device_register: str | None,
    queues: range | None,
    spec_name: str,
    limited: bool | None,
    as_json: bool,
    quiet: bool,
) -> int:
    """Turn a QEMU trace log (-trace kvm_set_ioeventfd_pio -trace kvm_set_ioeventfd_mmio -trace virtio_set_status
    -trace virtio_queue_notify -trace vhost_dev_start -trace vhost_dev_stop -trace vm_state_notify -D LOG) into the
    oracle's trace (spec/TRACE.md), to check with `oracle check --env qemu`. See qemu/README.md."""
    from virtio_notifier_spec.qemu.ingest import clean, ingest

    if as_json and not out_path:
        raise click.UsageError("--json describes the file --out writes; without --out the trace itself is on stdout")
    count = queues[0] if queues else None
    try:
        with open(log, encoding="utf-8", errors="replace") as stream:
            records = clean(ingest(stream, log, device=device_register, queues=count, limited=limited))
    except IsADirectoryError:
        raise SpecError("expected a file, found a folder", file=log) from None
    records[0]["variant"] = spec_name
    data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
    if out_path:
        _write_after(out_path, data, "--out")
        if as_json:
            summary = {"out": out_path, "events": len(records) - 1, "queues": records[0]["queues"]}
            print_document("oracle ingest", [summary])
        elif not quiet:
            click.echo(f"wrote {out_path}: {len(records) - 1} event(s), {records[0]['queues']} queue(s)", err=True)
    else:
        click.echo(data.decode(), nl=False)  # a trace: never wrapped
    return ExitCode.HOLDS


# -- schema ---------------------------------------------------------------------


@oracle.command("schema")
@spec_option()
@output_options
@env_option
@guarded
def schema_command(spec_name: str, as_json: bool, quiet: bool, env: str) -> int:
    """Print the JSON Schema of a trace line, made from the table
    (spec/trace.schema.json is this command's output; it is JSON with or
    without --json)."""
    click.echo(schema_text(load_spec(spec_name, env=env)), nl=False)
    return ExitCode.HOLDS
