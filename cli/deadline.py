"""``--timeout``: one deadline for the whole command, however many runs it makes.

Explorers stop by themselves at the time :meth:`Deadline.remaining` gives
them and return what they have; so do the proofs, given it as their
budget (``proofs/budget.py``). Work that cannot stop by itself (a drawing,
a mutant search, a trace check) runs inside :meth:`Deadline.enforced`: at
the deadline a ``SIGALRM`` raises :class:`TimeoutReached` in the main
thread.

>>> Deadline(None).remaining() is None
True
>>> Deadline(60).expired
False
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class TimeoutReached(Exception):
    """The command's --timeout passed."""


class Deadline:
    """The deadline of a command: ``seconds`` from now, or none."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left (at least a millisecond, so that an explorer given it
        stops at once rather than running unbounded); None without a limit."""
        if self.at is None:
            return None
        return max(self.at - time.monotonic(), 0.001)

    @property
    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def check(self) -> None:
        """Raise :class:`TimeoutReached` once the deadline has passed (for
        work that can call it between its steps)."""
        if self.expired:
            raise TimeoutReached

    @contextmanager
    def enforced(self) -> Iterator[None]:
        """Stop the block at the deadline: a ``SIGALRM`` raises
        :class:`TimeoutReached` (again every 0.1 s until the block ends, since
        one raised in a finalizer is swallowed; silently, not as the
        interpreter's "Exception ignored" traceback)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self.check()
        if self.at is None:
            yield
            return

        active = [True]

        def alarm(signum, frame):
            if active[0]:  # never once the block is leaving: the timer would stay armed
                raise TimeoutReached

        hook = sys.unraisablehook

        def swallowed(unraisable) -> None:  # an alarm that landed in a finalizer: the next one stops the block
            if not isinstance(unraisable.exc_value, TimeoutReached):
                hook(unraisable)

        previous = signal.signal(signal.SIGALRM, alarm)
        sys.unraisablehook = swallowed
        signal.setitimer(signal.ITIMER_REAL, self.remaining(), 0.1)
        try:
            yield
        finally:
            active[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if sys.unraisablehook is swallowed:
                sys.unraisablehook = hook
