"""``virtio-notifier-spec designs``: real hypervisors' designs judged, the verdict matrix.

Writes ``designs/README.md`` and ``designs/traces/`` (``--out``), prints
the matrix's problems, if any. Exit codes: 0 every verdict and divergence
is the one the catalogue pins, 1 the matrix differs from it (or, with
``--check``, the README on disk is not the one the designs give), 2 bad
input.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from virtio_notifier_spec.designs.catalogue import DESIGNS, entry
from virtio_notifier_spec.designs.matrix import QUEUES, build
from virtio_notifier_spec.designs.render import render, write

from .exitcodes import ExitCode


@click.command("designs")
@click.option("--out", default="designs", show_default=True, help="Folder to write README.md and traces/ into.")
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing: exit 1 when --out/README.md is not what the designs give now.",
)
@click.option("--only", multiple=True, metavar="NAME", help="Only this design (repeatable); writes nothing.")
@click.option("--no-drive", is_flag=True, help="Skip the oracle's generated suite (faster); writes nothing.")
def designs(out: str, check_only: bool, only: tuple[str, ...], no_drive: bool) -> None:
    """Judge every design of designs/ against resolved in its environment and
    write the verdict matrix (designs/README.md) with replayable traces."""
    try:
        chosen = tuple(entry(name) for name in only) if only else DESIGNS
    except KeyError as exc:
        click.echo(f"error: --only: {exc.args[0]}", err=True)
        sys.exit(ExitCode.BAD_INPUT)
    matrix = build(QUEUES, chosen, drive=check_only or not no_drive)
    for result in matrix.results:
        a = result.analysis
        click.echo(
            f"{result.entry.name:<18} env {result.entry.env:<9} {a.states:>4} states  "
            f"{len(a.groups):>2} divergence(s)  {sum(v.verdict == 'violated' for v in a.verdicts)} violated  "
            f"{a.seconds:.2f} s"
        )
    for problem in matrix.problems:
        click.echo(f"MISMATCH {problem}")
    folder = Path(out)
    if check_only:
        readme = folder / "README.md"
        current = readme.read_text(encoding="utf-8") if readme.is_file() else ""
        if current != render(matrix):
            click.echo(f"{readme} is stale: run `make designs`")
            sys.exit(ExitCode.FAILS)
    elif not only and not no_drive:
        written = write(matrix, folder)
        click.echo(f"wrote {written[0]} and {len(written) - 1} trace(s) in {matrix.seconds:.1f} s")
    sys.exit(ExitCode.HOLDS if matrix.ok else ExitCode.FAILS)
