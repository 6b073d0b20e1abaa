"""The bounds every input is held to, in one place, so that no input can
make a run grow without end: the number of queues, and the size of each
kind of file read whole.

:data:`MAX_QUEUES` is QEMU's ``VIRTIO_QUEUE_MAX``: ``--queues`` on every
command, a trace's header, an ITF trace's states, a replayed event's
queue and ``oracle drive`` all refuse more. :func:`read_text` reads a file
(or standard input) of at most ``limit`` bytes and refuses a larger one
with one line (``--spec /dev/zero`` stops after a few megabytes instead of
filling memory).

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "t.toml")
>>> _ = open(path, "w").write("x = 1\\n" * 10)
>>> read_text(path, limit=100, what="a table")[:6]
'x = 1\\n'
>>> read_text(path, limit=20, what="a table")
Traceback (most recent call last):
...
virtio_notifier_spec.spec.errors.SpecError: ...t.toml: larger than 20 bytes: too large for a table
"""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import SpecError

#: The most queues a device may have (QEMU's VIRTIO_QUEUE_MAX).
MAX_QUEUES = 1024
#: A table file (TOML): the shipped ones are a few tens of kilobytes.
MAX_TABLE_BYTES = 8 << 20
#: A trace read whole (``replay --trace``: text, an oracle trace, ITF).
MAX_TRACE_BYTES = 64 << 20


def shown(value: object, most: int = 40) -> str:
    """``value`` as a message quotes it, shortened past ``most`` characters.

    >>> shown("9" * 5000, most=8)
    "'99999999'... (5,000 characters)"
    """
    text = str(value)
    if len(text) <= most:
        return repr(value) if isinstance(value, str) else text
    return f"{text[:most]!r}... ({len(text):,} characters)"


def read_text(path: str | Path, *, limit: int, what: str) -> str:
    """The text of ``path`` (``-``: standard input), UTF-8, at most ``limit``
    bytes; a larger file, or one that cannot be read, is a :class:`SpecError`
    naming it."""
    name = "<stdin>" if str(path) == "-" else str(path)
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with open(path, "rb") as stream:
                data = stream.read(limit + 1)
    except FileNotFoundError:
        raise SpecError("no such file", file=name) from None
    except IsADirectoryError:
        raise SpecError(f"is a directory; expected {what}", file=name) from None
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror or exc}", file=name) from None
    if len(data) > limit:
        raise SpecError(f"larger than {limit:,} bytes: too large for {what}", file=name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not a text file (UTF-8): {exc.reason} at byte {exc.start}", file=name) from None
