"""Option types shared by every command: queue counts and durations.

Each refuses what it cannot mean (exit 2, one line naming the option),
rather than reading a part of it: ``--queues 1-`` is not 1 and
``--timeout nan`` is not a time.

>>> QueueRange().convert("1-3", None, None)
range(1, 4)
>>> Seconds().convert("2.5", None, None)
2.5
"""

from __future__ import annotations

import math
import re

import click

_QUEUES = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


class QueueRange(click.ParamType):
    """``3`` or ``1-6``: queue counts, each size explored in turn."""

    name = "N|A-B"

    def convert(self, value, param, ctx) -> range:
        if isinstance(value, range):
            return value
        match = _QUEUES.fullmatch(str(value))
        if match is None:
            self.fail(f"expected a number of queues or a range like 1-6, found {value!r}", param, ctx)
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if not 1 <= first <= last:
            self.fail(f"queue counts start at 1 and go up, found {value!r}", param, ctx)
        return range(first, last + 1)


class Seconds(click.ParamType):
    """A finite duration in seconds, at least ``minimum``."""

    name = "SECONDS"

    def __init__(self, minimum: float = 0.1) -> None:
        self.minimum = minimum

    def convert(self, value, param, ctx) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"expected a number of seconds, found {value!r}", param, ctx)
        if not math.isfinite(seconds) or seconds < self.minimum:
            self.fail(f"expected a finite number of seconds, at least {self.minimum:g}, found {value!r}", param, ctx)
        return seconds
