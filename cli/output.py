"""Where text goes and how wide it is: the terminal's width on a terminal,
100 columns off one (CI logs, files, pipes); colour only on a terminal.

>>> wrap("  1. " + "word " * 30, 40).splitlines()[1]
'       word word word word word word word'
"""

from __future__ import annotations

import errno
import sys
import textwrap
from pathlib import Path

from rich.console import Console

from virtio_notifier_spec.spec.errors import SpecError

#: Output off a terminal wraps here.
WIDTH = 100


def on_terminal(stream=None) -> bool:
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """Rich would exit 1 here; the command's guard says what happened instead."""
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def console(*, stderr: bool = False) -> Console:
    """A rich console for stdout (or stderr): as wide as the terminal and
    highlighted there; plain text wrapped at :data:`WIDTH` elsewhere."""
    stream = sys.stderr if stderr else sys.stdout
    return _Console(file=stream, highlight=False, width=None if on_terminal(stream) else WIDTH)


def wrap(text: str, width: int = WIDTH) -> str:
    """Each line longer than ``width`` broken at spaces, its continuation
    lines indented four columns past the line's own indentation (so a trace
    stays readable); shorter lines are kept as they are."""
    out = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        body = line.lstrip(" ")
        indent = " " * (len(line) - len(body))
        out += textwrap.wrap(
            body,
            width,
            initial_indent=indent,
            subsequent_indent=indent + "    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    return "\n".join(out)


def print_text(out: Console, text: str) -> None:
    """Plain text (a trace, a message) wrapped to the console's width; no markup."""
    out.print(wrap(text, out.width), markup=False, highlight=False, soft_wrap=True)


class OutputError(SpecError):
    """An output path that cannot be used: a file where a folder is wanted,
    a folder whose parent does not exist."""


def output_folder(path: str | Path, option: str) -> Path:
    """The folder ``path`` named by ``option``, created if only it is missing
    (as ``mkdir`` would: its parent must exist, so a typo is not a new tree)."""
    folder = Path(path)
    if folder.is_dir():
        return folder
    if folder.exists():
        raise OutputError(f"{folder} is a file; expected a folder", field=option)
    parent = folder.parent
    if not parent.is_dir():
        raise OutputError(f"cannot create {folder}: the folder {parent} does not exist", field=option)
    folder.mkdir()
    return folder
