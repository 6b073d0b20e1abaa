"""Where text goes and how wide it is, and the files a command writes.

Width (:func:`width`): ``COLUMNS`` when it is set, else the terminal's width
on a terminal, else 100 columns (CI logs, files, pipes); colour only on a
terminal. Every table printed through :func:`console` is fitted to it
(:func:`fit`): columns wrap at spaces, a name or a number is never cut,
and a table too wide even so is printed as one block per row.

Files: an output path (``--traces``, ``--out``, ``--junit``, ``--example``)
is checked before anything runs (:func:`usable_folder`,
:func:`usable_file`; bad input, exit 2), and what fails while it is written
(a full disk, an I/O error) is :class:`OutputLost` (exit 4, after the
verdicts already printed), raised by :func:`writing`.

>>> wrap("  1. " + "word " * 30, 40).splitlines()[1]
'       word word word word word word word'
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from virtio_notifier_spec.spec.errors import SpecError

#: Output off a terminal wraps here.
WIDTH = 100
#: ``COLUMNS`` is honoured within these bounds.
NARROWEST, WIDEST = 20, 1000


def on_terminal(stream=None) -> bool:
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a stream closed meanwhile
        return False


def width(stream=None) -> int:
    """The columns text may use: ``COLUMNS`` (20 to 1000), else the
    terminal's width on a terminal, else :data:`WIDTH`."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and len(columns) < 6:
        return min(max(int(columns), NARROWEST), WIDEST)
    if on_terminal(stream):
        return max(shutil.get_terminal_size((WIDTH, 24)).columns, NARROWEST)
    return WIDTH


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """Rich would exit 1 here; the command's guard says what happened instead."""
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def print(self, *objects, **kwargs) -> None:
        """Print, each table fitted to the width first (:func:`fit`)."""
        fitted = [fit(self, o) if isinstance(o, Table) else o for o in objects]
        super().print(*fitted, **kwargs)


def console(*, stderr: bool = False) -> Console:
    """A rich console for stdout (or stderr), :func:`width` columns wide;
    highlighted on a terminal, plain text elsewhere."""
    stream = sys.stderr if stderr else sys.stdout
    return _Console(file=stream, highlight=False, width=width(stream))


# -- tables that fit ---------------------------------------------------------------


def fit(out: Console, table: Table):
    """``table`` laid out within ``out.width`` without cutting a word: each
    column at least as wide as its longest word (a name, a number), the
    room left given to the columns that want least more first (a verdict
    keeps its line, a long explanation wraps); when even that is too wide,
    one block per row (:func:`records`).

    >>> t = Table(title="T")
    >>> for c in ("property", "verdict"):
    ...     t.add_column(c)
    >>> t.add_row("assigned_holds_exactly_ours", "proved (10 ms)")
    >>> narrow = Console(width=24, file=open(os.devnull, "w"))
    >>> isinstance(fit(narrow, t), Table)
    False
    """
    if not table.columns:
        return table
    options = out.options.update(width=out.width)
    measured = [table._measure_column(out, options, column) for column in table.columns]
    extra = table._extra_width
    least = sum(m.minimum for m in measured) + extra
    most = sum(m.maximum for m in measured) + extra
    if most <= out.width or any(c.width is not None for c in table.columns):
        return table
    if least > out.width:
        return records(out, table)
    room = out.width - least
    wants = [m.maximum - m.minimum for m in measured]
    extra = [0] * len(wants)
    by_want = sorted(range(len(wants)), key=wants.__getitem__)
    for done, index in enumerate(by_want):  # the narrowest wishes first, in full where they fit
        extra[index] = min(wants[index], room // (len(by_want) - done))
        room -= extra[index]
    for column, m, more in zip(table.columns, measured, extra, strict=True):
        column.width = max(m.minimum + more - table._get_padding_width(column._index), 1)
        column.overflow = "fold"
    return table


def records(out: Console, table: Table) -> Group:
    """A table as text: its title, then each row as its first cell on a line
    and the other columns beneath it, ``header: value``, wrapped."""
    headers = [out.render_str(str(c.header)).plain if c.header else "" for c in table.columns]
    cells = [list(c._cells) for c in table.columns]
    lines: list[Text] = []
    if table.title:
        lines.append(out.render_str(str(table.title), style="bold"))
    for row in range(table.row_count):
        values = [out.render_str(str(col[row])) if isinstance(col[row], str) else col[row] for col in cells]
        first = values[0] if isinstance(values[0], Text) else Text(str(values[0]))
        lines.append(first)
        for header, value in zip(headers[1:], values[1:], strict=True):
            text = value if isinstance(value, Text) else Text(str(value))
            if not text.plain:
                continue
            entry = Text(f"    {header}: " if header else "    ")
            entry.append_text(text)
            lines.append(entry)
    if table.caption:
        lines.append(out.render_str(str(table.caption)))
    return Group(*lines)


# -- plain text ----------------------------------------------------------------------


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


def echo(text: str = "", *, err: bool = False) -> None:
    """``click.echo`` of plain text wrapped to :func:`width`."""
    import click

    click.echo(wrap(text, width(sys.stderr if err else sys.stdout)), err=err)


# -- output files ----------------------------------------------------------------------


class OutputError(SpecError):
    """An output path that cannot be used: a file where a folder is wanted,
    a folder whose parent does not exist, a read-only folder (exit 2)."""


class OutputLost(Exception):
    """An output the command was asked for could not be written once the
    run was done (a full disk, an I/O error): exit 4, and the verdicts
    already printed stand."""


def _can_create_in(folder: Path) -> str | None:
    """Why no file can be made in ``folder``, or None when one can: tried
    for real (a file made and removed at once), since neither the mode bits
    (root ignores them) nor the mount options tell the whole story."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe-")
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


def usable_folder(path: str | Path, option: str) -> Path:
    """Check, before anything runs, that ``path`` can be the folder
    ``option`` writes into: an existing folder files can be made in, or a
    new one whose parent exists and takes it (as ``mkdir`` wants: a typo is
    not a new tree). Nothing is left behind."""
    folder = Path(path)
    if folder.is_dir():
        why = _can_create_in(folder)
        if why:
            raise OutputError(f"cannot write into {folder}: {why}", field=option)
        return folder
    if folder.exists():
        raise OutputError(f"{folder} is a file; expected a folder", field=option)
    parent = folder.parent
    if not parent.is_dir():
        raise OutputError(f"cannot create {folder}: the folder {parent} does not exist", field=option)
    try:
        folder.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot create {folder}: {exc.strerror or exc}", field=option) from None
    why = _can_create_in(folder)
    with contextlib.suppress(OSError):
        folder.rmdir()
    if why:
        raise OutputError(f"cannot write into {folder}: {why}", field=option)
    return folder


def usable_file(path: str | Path, option: str) -> Path:
    """Check, before anything runs, that the file ``path`` can be written
    (a special file such as ``/dev/null`` is opened; a full device fails
    only when written, exit 4)."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise OutputError(f"{target}: is a folder, expected a file", field=option)
    if not folder.is_dir():
        raise OutputError(f"{folder}: no such folder", field=option)
    if target.exists():
        try:
            with open(target, "ab"):
                pass
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}", field=option) from None
        if target.is_file():  # written through a new file renamed into place
            why = _can_create_in(folder)
            if why:
                raise OutputError(f"cannot write {target}: {why}", field=option)
        return target
    why = _can_create_in(folder)
    if why:
        raise OutputError(f"cannot write {target}: {why}", field=option)
    return target


def output_folder(path: str | Path, option: str) -> Path:
    """The folder ``path`` named by ``option``, created if only it is missing
    (:func:`usable_folder` says what is refused)."""
    folder = usable_folder(path, option)
    with writing(option):
        folder.mkdir(exist_ok=True)
    return folder


@contextlib.contextmanager
def writing(what: str) -> Iterator[None]:
    """Turn a failure to write ``what`` (an option's files) into
    :class:`OutputLost`, naming the file and the reason."""
    try:
        yield
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise OutputLost(f"cannot write {what}{where}: {exc.strerror or exc}") from None
