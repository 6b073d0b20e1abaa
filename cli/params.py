"""Option types shared by every command: queue counts and durations.

Each refuses what it cannot mean (exit 2, one line naming the option),
rather than reading a part of it: ``--queues 1-`` is not 1 and
``--timeout nan`` is not a time.

>>> QueueRange().convert("1-6", None, None)
range(1, 7)
>>> Seconds().convert("2.5", None, None)
2.5
"""

from __future__ import annotations

import math
import re

import click

_QUEUES = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


class QueueRange(click.ParamType):
    """``N`` (exactly N queues) or ``A-B`` (every count from A to B, one at a
    time): the one meaning of ``--queues`` on every command. ``single``
    commands take one count; ``maximum`` bounds it."""

    name = "N|A-B"

    def __init__(self, *, single: bool = False, maximum: int | None = None) -> None:
        self.single = single
        self.maximum = maximum
        if single:
            self.name = "N"

    def convert(self, value, param, ctx) -> range:
        if isinstance(value, range):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        match = _QUEUES.fullmatch(str(value))
        if match is None:
            self.fail(f"expected a number of queues N or a range A-B like 1-6, found {value!r}", param, ctx)
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if not 1 <= first <= last:
            self.fail(f"queue counts start at 1 and a range goes up (A <= B), found {value!r}", param, ctx)
        if self.maximum is not None and last > self.maximum:
            self.fail(f"at most {self.maximum} queues, found {value!r}", param, ctx)
        if self.single and first != last:
            self.fail(f"this command takes one queue count N, found the range {value!r}", param, ctx)
        return range(first, last + 1)


class Seconds(click.ParamType):
    """A positive, finite number of seconds (``nan``, ``inf``, 0 and less are refused)."""

    name = "SECONDS"

    def convert(self, value, param, ctx) -> float:
        try:
            seconds = float(str(value).strip())
        except ValueError:
            self.fail(f"expected a number of seconds, found {value!r}", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"expected a finite number of seconds above 0, found {value!r}", param, ctx)
        return seconds
