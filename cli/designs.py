"""``virtio-notifier-spec designs``: real hypervisors' designs judged, the verdict matrix.

Writes ``designs/README.md`` and ``designs/traces/`` (``--out``), prints
the matrix's problems, if any. Exit codes (README.md, "Exit codes"): 0
every verdict and divergence is the one the catalogue pins, 1 the matrix
differs from it (or, with ``--check``, the README on disk is not the one
the designs give), 2 bad input, 3 stopped at ``--timeout``, 130
interrupted. A stopped run prints the designs judged before it stopped
(text or JSON, ``stopped`` and ``not_run`` naming the others) and writes
nothing: a matrix of some designs would replace the whole one.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from virtio_notifier_spec.designs.analysis import Analysis
from virtio_notifier_spec.designs.catalogue import DESIGNS, entry
from virtio_notifier_spec.designs.child import ChildObservationError, analyse_child
from virtio_notifier_spec.designs.matrix import QUEUES, Matrix, judge
from virtio_notifier_spec.designs.render import render, write
from virtio_notifier_spec.model.explore import TIMEOUT
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec

from . import signals
from .deadline import Deadline, TimeoutReached
from .document import print_document
from .env import env_option
from .exitcodes import ExitCode, outcome
from .guard import guarded
from .options import run_options, spec_option
from .output import echo, writing
from .params import OutputFolder
from .progress import Progress


@click.command("designs")
@click.argument("command", nargs=-1, metavar="[-- COMMAND...]")
@click.option(
    "--out",
    type=OutputFolder(),
    default="designs",
    show_default=True,
    help="Folder to write README.md and traces/ into.",
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing: exit 1 when --out/README.md is not what the designs give now.",
)
@click.option("--only", multiple=True, metavar="NAME", help="Only this design (repeatable); writes nothing.")
@click.option("--no-drive", is_flag=True, help="Skip the oracle's generated suite (faster); writes nothing.")
@spec_option(help="With a COMMAND: the table the child is judged against (a variant or a TOML file).")
@env_option
@run_options
@guarded
def designs(
    command: tuple[str, ...],
    out: str,
    check_only: bool,
    only: tuple[str, ...],
    no_drive: bool,
    spec_name: str,
    env: str,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
) -> int:
    """Judge every design of designs/ against its table in its environment and
    write the verdict matrix (designs/README.md) with replayable traces.

    With a COMMAND after `--`, judge that child (speaking the drive protocol,
    spec/PROTOCOL.md, and reporting every field) the same way instead: a
    verdict per property of --spec in --env, and every divergence; writes
    nothing. Example: virtio-notifier-spec designs --spec registered --env
    rust_vmm -- python3 examples/vmm/firecracker.py
    """
    if command:
        return _judge_child(command, spec_name, env, timeout, as_json, quiet)
    try:
        chosen = tuple(entry(name) for name in only) if only else DESIGNS
    except KeyError as exc:
        raise SpecError(str(exc.args[0]), field="--only") from None
    matrix, stopped = _build(chosen, check_only or not no_drive, timeout, quiet)
    document = _json(matrix)
    if not as_json:
        for line in _lines(matrix):
            echo(line)
    folder = Path(out)
    code = ExitCode.HOLDS if matrix.ok else ExitCode.FAILS
    if stopped is not None:
        not_run = [e.name for e in chosen[len(matrix.results) :]]
        if as_json:
            print_document("designs", document.pop("designs"), stopped=stopped, not_run=not_run, **document)
        else:
            echo(
                f"{stopped}: {len(matrix.results)} of {len(chosen)} design(s) judged, not {', '.join(not_run)}; "
                f"nothing written to {folder}"
            )
        return outcome(failed=not matrix.ok, partial=stopped)
    if check_only:
        readme = folder / "README.md"
        current = readme.read_text(encoding="utf-8") if readme.is_file() else ""
        document["stale"] = current != render(matrix)
        if document["stale"]:
            if not as_json:
                click.echo(f"{readme} is stale: run `make designs`")
            code = ExitCode.FAILS
    elif not only and not no_drive:
        with writing("--out"):
            written = write(matrix, folder)
        document["written"] = [str(p) for p in written]
        if not as_json:
            click.echo(f"wrote {written[0]} and {len(written) - 1} trace(s) in {matrix.seconds:.1f} s")
    if as_json:
        print_document("designs", document.pop("designs"), **document)
    return code


def _build(chosen, drive: bool, timeout: float | None, quiet: bool) -> tuple[Matrix, str | None]:
    """The matrix of ``chosen``, and why it stopped before the last (None:
    it did not): the designs judged before a --timeout or Ctrl-C are kept."""
    began = time.perf_counter()
    results = []
    stopped = None
    try:
        with Progress(f"judging {len(chosen)} design(s)", quiet=quiet) as progress, Deadline(timeout).enforced():
            for done, design in enumerate(chosen):
                progress.update(f"{design.name} ({done}/{len(chosen)} judged)")
                results.append(judge(design, QUEUES, drive=drive))
    except TimeoutReached:
        stopped = TIMEOUT
    except KeyboardInterrupt:
        stopped = signals.name()
    return Matrix(tuple(results), QUEUES, time.perf_counter() - began), stopped


def _lines(matrix: Matrix) -> list[str]:
    lines = []
    for result in matrix.results:
        a = result.analysis
        lines.append(
            f"{result.entry.name:<18} env {result.entry.env:<9} {a.states:>4} states  "
            f"{len(a.groups):>2} divergence(s)  {sum(v.verdict == 'violated' for v in a.verdicts)} violated  "
            f"{a.seconds:.2f} s"
        )
    return lines + [f"MISMATCH {problem}" for problem in matrix.problems]


def _json(matrix: Matrix) -> dict:
    return {
        "ok": matrix.ok,
        "queues": matrix.queues,
        "designs": [
            {
                "name": r.entry.name,
                "env": r.entry.env,
                "table": r.entry.table,
                "states": r.analysis.states,
                "divergences": len(r.analysis.groups),
                "verdicts": {v.name: v.verdict for v in r.analysis.verdicts},
                "problems": list(r.problems),
            }
            for r in matrix.results
        ],
    }


def _judge_child(command: tuple[str, ...], spec_name: str, env: str, timeout, as_json: bool, quiet: bool) -> int:
    """A protocol child judged like a design: exit 0 when every property
    holds and nothing diverges, 1 otherwise, 2 when it cannot be judged."""
    spec = load_spec(spec_name, env=env)  # a bad table or environment: exit 2 before the child starts
    with Progress(f"judging {command[0]}", quiet=quiet), Deadline(timeout).enforced():
        try:
            analysis = analyse_child(command, spec_name, env, QUEUES)
        except ChildObservationError as exc:
            raise SpecError(str(exc), field="COMMAND") from None
    broken = [v for v in analysis.verdicts if v.verdict == "violated"]
    failed = bool(broken or analysis.groups)
    if as_json:
        print_document("designs", [_child_json(analysis)], ok=not failed, queues=QUEUES)
    else:
        for line in _child_lines(analysis, spec.name, env):
            echo(line)
    return ExitCode.FAILS if failed else ExitCode.HOLDS


def _child_lines(analysis: Analysis, table: str, env: str) -> list[str]:
    lines = [f"{analysis.entry.name} against {table}, env {env}: {analysis.states} states, {analysis.steps} steps"]
    for v in analysis.verdicts:
        why = f" ({v.reason})" if v.reason else ""
        shortest = f": {v.sequence.describe()}" if v.sequence is not None else ""
        lines.append(f"  {v.name:<36} {v.verdict}{why}{shortest}")
    lines.append(f"{len(analysis.groups)} divergence(s) from {table}")
    for group in analysis.groups:
        lines.append(f"  {group.symptom} ({group.count} step(s)): {group.sequence.describe()}")
        lines += [f"      {detail}" for detail in group.detail]
    return lines


def _child_json(analysis: Analysis) -> dict:
    """The child as one result of the designs document (schemas/designs.schema.json)."""
    return {
        "name": analysis.entry.name,
        "env": analysis.entry.env,
        "table": analysis.spec.name,
        "states": analysis.states,
        "divergences": len(analysis.groups),
        "verdicts": {v.name: v.verdict for v in analysis.verdicts},
        "problems": [f"divergence {g.symptom}: {g.sequence.describe()}" for g in analysis.groups],
    }
