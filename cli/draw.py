"""``virtio-notifier-spec draw``: regenerate the drawings of diagrams/.

Without ``--spec`` or ``--diff`` it draws both variants and the difference
``proposal`` -> ``resolved`` (what ``make diagrams`` runs). DOT and ASCII
need nothing; SVG and PNG need Graphviz's ``dot`` (exit 2 with how to
install it when it is missing). ``--out -`` prints the machines (and
differences) in one text format instead of writing files, e.g. for a
commit message::

    virtio-notifier-spec draw --spec resolved --format ascii --out -
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click
from virtio_notifier_spec.draw.generate import FORMATS, plan, stale, text_plan, write
from virtio_notifier_spec.draw.reachable import LIMIT
from virtio_notifier_spec.draw.render import DotMissing, RenderError, dot_program
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import ADVERSARIAL

from .env import env_option
from .params import QueueRange

OK, BAD_INPUT = 0, 2


def _load(name: str, env: str):
    """A table in ``env``; outside the default environment its drawings are
    named for it too (``machine-resolved-qemu``), beside the default ones."""
    spec = load_spec(name, env=env)
    return spec if env == ADVERSARIAL else dataclasses.replace(spec, name=f"{spec.name}-{env}")


@click.command()
@click.option(
    "--spec",
    "specs",
    multiple=True,
    metavar="SPEC",
    help="A variant (proposal, resolved) or a table's TOML file; repeatable.",
)
@click.option(
    "--diff",
    "diffs",
    nargs=2,
    multiple=True,
    metavar="A B",
    help="Draw what changed from table A to table B; repeatable.",
)
@click.option(
    "--format",
    "formats",
    type=click.Choice(FORMATS),
    multiple=True,
    help="Formats to write (repeatable); default all four. ascii writes .txt files.",
)
@click.option(
    "--out",
    default="diagrams",
    show_default=True,
    help="Folder to write into; '-' prints the machines (and diffs) to stdout.",
)
@click.option(
    "--queues", type=QueueRange(), default="1-2", show_default=True, help="Queue counts for the reachable graphs."
)
@click.option(
    "--max-full",
    type=click.IntRange(min=0),
    default=LIMIT,
    show_default=True,
    help="Draw a reachable graph state by state up to this many states; larger ones as a summary.",
)
@click.option("--clean", is_flag=True, help="Remove drawings in --out that are no longer produced.")
@env_option
def draw(
    specs: tuple[str, ...],
    diffs: tuple[tuple[str, str], ...],
    formats: tuple[str, ...],
    out: str,
    queues: range,
    max_full: int,
    clean: bool,
    env: str,
) -> None:
    """Draw each table's machine, reachable graphs and counterexamples, and diffs."""
    chosen = formats or FORMATS
    try:
        if not specs and not diffs:
            specs, diffs = ("proposal", "resolved"), (("proposal", "resolved"),)
        if out != "-" and any(f in ("svg", "png") for f in chosen):
            dot_program()  # fail before any work when dot is missing
        if out == "-" and (len(chosen) != 1 or chosen[0] not in ("dot", "ascii")):
            click.echo("error: --out - prints one text format: give --format dot or --format ascii", err=True)
            sys.exit(BAD_INPUT)
        loaded = {name: _load(name, env) for name in dict.fromkeys([*specs, *(n for d in diffs for n in d)])}
        chosen_specs = [loaded[s] for s in specs]
        pairs = [(loaded[a], loaded[b]) for a, b in diffs]
        if out == "-":
            for drawing in text_plan(chosen_specs, pairs, queues):
                click.echo(drawing.dot if chosen[0] == "dot" else drawing.text, nl=False)
            sys.exit(OK)
        drawings = plan(chosen_specs, pairs, queues, max_full)
        folder = Path(out)
        written = write(drawings, folder, chosen)
        if clean:
            for path in stale(folder, written):
                path.unlink()
                click.echo(f"removed {path}")
        click.echo(f"{len(written)} files in {folder}")
    except (SpecError, DotMissing, RenderError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(BAD_INPUT)
    sys.exit(OK)
