"""Option types shared by every command: queue counts, durations, output paths.

Each refuses what it cannot mean (exit 2, one line naming the option),
rather than reading a part of it: ``--queues 1-`` is not 1, ``--queues
99999999999999999999`` is not a device (at most 1024 queues, on every
command), and ``--timeout nan`` is not a time. An output path is checked
when the options are read, before anything runs.

>>> QueueRange().convert("1-6", None, None)
range(1, 7)
>>> Seconds().convert("2.5", None, None)
2.5
>>> Seconds(minimum=0.01).convert("nan", None, None)
Traceback (most recent call last):
...
click.exceptions.BadParameter: expected a finite number of seconds of at least 0.01, found 'nan'
"""

from __future__ import annotations

import math
import re

import click

from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.limits import MAX_QUEUES, shown

from .output import usable_file, usable_folder

_QUEUES = re.compile(r"\s*(\d{1,9})\s*(?:-\s*(\d{1,9})\s*)?")


class QueueRange(click.ParamType):
    """``N`` (exactly N queues) or ``A-B`` (every count from A to B, one at a
    time): the one meaning of ``--queues`` on every command, from 1 to
    ``maximum`` (:data:`~virtio_notifier_spec.spec.limits.MAX_QUEUES`,
    1024, unless a command allows fewer). ``single`` commands take one count."""

    name = "N|A-B"

    def __init__(self, *, single: bool = False, maximum: int | None = MAX_QUEUES) -> None:
        self.single = single
        self.maximum = min(maximum or MAX_QUEUES, MAX_QUEUES)
        if single:
            self.name = "N"

    def convert(self, value, param, ctx) -> range:
        if isinstance(value, range):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        match = _QUEUES.fullmatch(str(value))
        allowed = f"from 1 to {self.maximum}"
        if match is None:
            if re.fullmatch(r"\s*\d+\s*(-\s*\d+\s*)?", str(value)):  # digits, but too many of them
                self.fail(f"queue counts go {allowed}, found {shown(value)}", param, ctx)
            self.fail(f"expected a number of queues N or a range A-B like 1-6, found {shown(value)}", param, ctx)
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if not 1 <= first <= last:
            self.fail(f"queue counts start at 1 and a range goes up (A <= B), found {shown(value)}", param, ctx)
        if last > self.maximum:
            self.fail(f"queue counts go {allowed}, found {shown(value)}", param, ctx)
        if self.single and first != last:
            self.fail(f"this command takes one queue count N, found the range {shown(value)}", param, ctx)
        return range(first, last + 1)


class Seconds(click.ParamType):
    """A finite number of seconds of at least ``minimum`` (above 0 unless
    ``zero`` allows it): ``nan``, ``inf`` and negative numbers are refused."""

    name = "SECONDS"

    def __init__(self, *, minimum: float = 0.0, zero: bool = False) -> None:
        self.minimum = minimum
        self.zero = zero

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, float | int) and not isinstance(value, bool):
            seconds = float(value)
        else:
            try:
                seconds = float(str(value).strip())
            except ValueError:
                self.fail(f"expected a number of seconds, found {shown(value)}", param, ctx)
        if self.minimum > 0:
            wanted = f"of at least {self.minimum:g}"
            ok = seconds >= self.minimum
        elif self.zero:
            wanted, ok = "of 0 or more", seconds >= 0
        else:
            wanted, ok = "above 0", seconds > 0
        if not math.isfinite(seconds) or not ok:
            self.fail(f"expected a finite number of seconds {wanted}, found {shown(value)}", param, ctx)
        return seconds


class OutputFolder(click.ParamType):
    """A folder a command will write into (``--traces``, ``--out``): an
    existing writable folder, or a new one in an existing writable folder;
    checked before anything runs (:func:`.output.usable_folder`). With
    ``dash``, ``-`` (standard output) is taken as it is."""

    name = "FOLDER"

    def __init__(self, *, dash: bool = False) -> None:
        self.dash = dash

    def convert(self, value, param, ctx) -> str:
        if self.dash and value == "-":
            return value
        return str(_checked(usable_folder, value, param, ctx))


class OutputFile(click.ParamType):
    """A file a command will write (``--junit``, ``--example``), checked
    before anything runs (:func:`.output.usable_file`)."""

    name = "FILE"

    def convert(self, value, param, ctx) -> str:
        return str(_checked(usable_file, value, param, ctx))


def _checked(check, value, param, ctx):
    option = param.opts[0] if param is not None and param.opts else "output"
    try:
        return check(value, option)
    except SpecError as exc:
        raise click.BadParameter(exc.message, ctx=ctx, param=param) from None
