"""``virtio-notifier-spec draw``: regenerate the drawings of diagrams/.

Without ``--spec`` or ``--diff`` it draws both variants and the difference
``proposal`` -> ``resolved`` (what ``make diagrams`` runs). DOT and ASCII
need nothing; SVG and PNG need Graphviz's ``dot`` (exit 2 with how to
install it when it is missing). ``--out -`` prints the machines (and
differences) in one text format instead of writing files, e.g. for a
commit message::

    virtio-notifier-spec draw --spec resolved --format ascii --out -

``--out`` is a folder: created if missing, but its parent must exist, and
a file there is refused (exit 2). ``--timeout`` stops before the drawings
are written (exit 3); Ctrl-C exits 130.
"""

from __future__ import annotations

import dataclasses

import click

from virtio_notifier_spec.draw.generate import FORMATS, plan, stale, text_plan, write
from virtio_notifier_spec.draw.reachable import LIMIT
from virtio_notifier_spec.draw.render import DotMissing, RenderError, dot_program
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import ADVERSARIAL

from .deadline import Deadline, TimeoutReached
from .document import print_document
from .env import env_option
from .exitcodes import ExitCode
from .guard import guarded, say
from .options import queues_option, run_options, spec_option
from .output import output_folder, writing
from .params import OutputFolder
from .progress import Progress


def _load(name: str, env: str):
    """A table in ``env``; outside the default environment its drawings are
    named for it too (``machine-resolved-qemu``), beside the default ones."""
    spec = load_spec(name, env=env)
    return spec if env == ADVERSARIAL else dataclasses.replace(spec, name=f"{spec.name}-{env}")


@click.command()
@spec_option(multiple=True)
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
    type=OutputFolder(dash=True),
    default="diagrams",
    show_default=True,
    help="Folder to write into (its parent must exist); '-' prints the machines (and diffs) to stdout.",
)
@queues_option(default="1-2", help="Queue counts of the reachable graphs: N or A-B.")
@click.option(
    "--max-full",
    type=click.IntRange(min=0),
    default=LIMIT,
    show_default=True,
    help="Draw a reachable graph state by state up to this many states; larger ones as a summary.",
)
@click.option("--clean", is_flag=True, help="Remove drawings in --out that are no longer produced.")
@run_options
@env_option
@guarded
def draw(
    specs: tuple[str, ...],
    diffs: tuple[tuple[str, str], ...],
    formats: tuple[str, ...],
    out: str,
    queues: range,
    max_full: int,
    clean: bool,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    env: str,
) -> int:
    """Draw each table's machine, reachable graphs and counterexamples, and diffs."""
    chosen = formats or FORMATS
    if not specs and not diffs:
        specs, diffs = ("proposal", "resolved"), (("proposal", "resolved"),)
    try:
        if out != "-" and any(f in ("svg", "png") for f in chosen):
            dot_program()  # fail before any work when dot is missing
    except DotMissing as exc:
        raise SpecError(str(exc)) from None
    if out == "-" and (len(chosen) != 1 or chosen[0] not in ("dot", "ascii")):
        raise SpecError("--out - prints one text format: give --format dot or --format ascii", field="--out")
    folder = None if out == "-" else output_folder(out, "--out")
    loaded = {name: _load(name, env) for name in dict.fromkeys([*specs, *(n for d in diffs for n in d)])}
    chosen_specs = [loaded[s] for s in specs]
    pairs = [(loaded[a], loaded[b]) for a, b in diffs]
    deadline = Deadline(timeout)
    with Progress("drawing " + ", ".join(loaded), quiet=quiet) as progress:
        try:
            with deadline.enforced():
                if folder is None:
                    return _print(text_plan(chosen_specs, pairs, queues), chosen[0], as_json)
                progress.update("exploring and laying out")
                drawings = plan(chosen_specs, pairs, queues, max_full)
                progress.update(f"writing {len(drawings)} drawings")
                with writing("--out"):
                    written = write(drawings, folder, chosen)
        except TimeoutReached:
            say(f"stopped at --timeout: the drawings in {out} may be incomplete")
            return ExitCode.INCOMPLETE
        except RenderError as exc:
            raise SpecError(str(exc)) from None
    removed = [path for path in stale(folder, written)] if clean else []
    for path in removed:
        path.unlink()
    if as_json:
        print_document("draw", [{"path": str(p)} for p in written], removed=[str(p) for p in removed])
    else:
        for path in removed:
            click.echo(f"removed {path}")
        click.echo(f"{len(written)} files in {folder}")
    return ExitCode.HOLDS


def _print(drawings, fmt: str, as_json: bool) -> int:
    if as_json:
        print_document("draw", [{"name": d.stem, fmt: d.dot if fmt == "dot" else d.text} for d in drawings], removed=[])
    else:
        for drawing in drawings:
            click.echo(drawing.dot if fmt == "dot" else drawing.text, nl=False)
    return ExitCode.HOLDS
