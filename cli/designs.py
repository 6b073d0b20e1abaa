"""``virtio-notifier-spec designs``: real hypervisors' designs judged, the verdict matrix.

Writes ``designs/README.md`` and ``designs/traces/`` (``--out``), prints
the matrix's problems, if any. Exit codes (README.md, "Exit codes"): 0
every verdict and divergence is the one the catalogue pins, 1 the matrix
differs from it (or, with ``--check``, the README on disk is not the one
the designs give), 2 bad input, 3 stopped at ``--timeout`` (nothing
written), 130 interrupted.
"""

from __future__ import annotations

from pathlib import Path

import click

from virtio_notifier_spec.designs.catalogue import DESIGNS, entry
from virtio_notifier_spec.designs.matrix import QUEUES, Matrix, build
from virtio_notifier_spec.designs.render import render, write
from virtio_notifier_spec.spec.errors import SpecError

from .deadline import Deadline
from .document import print_document
from .exitcodes import ExitCode
from .guard import guarded
from .options import run_options
from .output import echo, writing
from .params import OutputFolder
from .progress import Progress


@click.command("designs")
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
@run_options
@guarded
def designs(
    out: str, check_only: bool, only: tuple[str, ...], no_drive: bool, timeout: float | None, as_json: bool, quiet: bool
) -> int:
    """Judge every design of designs/ against resolved in its environment and
    write the verdict matrix (designs/README.md) with replayable traces."""
    try:
        chosen = tuple(entry(name) for name in only) if only else DESIGNS
    except KeyError as exc:
        raise SpecError(str(exc.args[0]), field="--only") from None
    with Progress(f"judging {len(chosen)} design(s)", quiet=quiet), Deadline(timeout).enforced():
        matrix = build(QUEUES, chosen, drive=check_only or not no_drive)
    document = _json(matrix)
    if not as_json:
        for line in _lines(matrix):
            echo(line)
    folder = Path(out)
    code = ExitCode.HOLDS if matrix.ok else ExitCode.FAILS
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
                "states": r.analysis.states,
                "divergences": len(r.analysis.groups),
                "verdicts": {v.name: v.verdict for v in r.analysis.verdicts},
                "problems": list(r.problems),
            }
            for r in matrix.results
        ],
    }
