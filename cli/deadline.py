"""``--timeout``: one deadline for the whole command, however many runs it makes.

Explorers stop by themselves at the time :meth:`Deadline.remaining` gives
them and return what they have. Work that cannot stop by itself (a drawing,
a mutant search, a trace check) runs inside :meth:`Deadline.enforced`: at
the deadline a ``SIGALRM`` raises :class:`TimeoutReached` in the main
thread. Proofs run inside ``enforced(solver=True)``: Z3's checks are
interrupted from the deadline on, and the proofs stop at the next one.

>>> Deadline(None).remaining() is None
True
>>> Deadline(60).expired
False
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
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
        self.sigint = False  # Ctrl-C seen while Z3 was guarded (see enforced)

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
        """Raise :class:`TimeoutReached` once the deadline has passed, and
        KeyboardInterrupt once Ctrl-C was seen (for work that can call it
        between its steps)."""
        if self.sigint:
            raise KeyboardInterrupt
        if self.expired:
            raise TimeoutReached

    @contextmanager
    def enforced(self, *, solver: bool = False) -> Iterator[None]:
        """Stop the block at the deadline. Python code: a ``SIGALRM`` raises
        :class:`TimeoutReached` (again every 0.1 s until the block ends, since
        one raised in a finalizer is swallowed). With ``solver``, Z3's checks
        are interrupted instead, at the deadline and on Ctrl-C (they then
        answer unknown), and the block calls :meth:`check` between its steps:
        an asynchronous exception in the middle of Z3's ctypes calls would
        leave them half done."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self.check()
        if solver:
            with self._solver_stoppable():
                yield
            return

        if self.at is None:
            yield
            return

        def alarm(signum, frame):
            raise TimeoutReached

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, self.remaining(), 0.1)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    @contextmanager
    def _solver_stoppable(self) -> Iterator[None]:
        """Z3 stopped at the deadline and by Ctrl-C. Z3's own Ctrl-C handler
        is switched off: it would turn Ctrl-C into an "unknown" answer that
        a prover may record and go on. Instead Python's handler stays, and a
        watcher thread, woken by the signal's wakeup fd while the main
        thread is inside Z3, interrupts the check and sets :attr:`sigint`.
        Python raises KeyboardInterrupt once the check returns, unless it
        lands in a finalizer, which swallows it: :meth:`check` raises it
        again."""
        import z3

        context = z3.main_ctx()  # made here, in the main thread, never by the watcher
        z3.set_param("ctrl_c", False)
        reader, writer = os.pipe()
        os.set_blocking(writer, False)
        previous = signal.set_wakeup_fd(writer, warn_on_full_buffer=False)
        done = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(context, reader, done), daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join(timeout=1)
            signal.set_wakeup_fd(previous)
            os.close(reader)
            os.close(writer)
            z3.set_param("ctrl_c", True)
            _clear_solver(context)

    def _watch(self, context, reader: int, done: threading.Event) -> None:
        """Interrupt Z3 at every moment from Ctrl-C or the deadline on (a
        prover that records an interrupted check as unknown and goes on
        finds the next one interrupted too, until it calls :meth:`check`)."""
        while not done.is_set():
            ready, _, _ = select.select([reader], [], [], 0.05)
            if ready and signal.SIGINT in os.read(reader, 64):
                self.sigint = True
            if self.sigint or self.expired:
                # The context's error code is shared with the main thread: a
                # push that failed there may show here; it is not ours.
                with contextlib.suppress(Exception):
                    context.interrupt()


def _clear_solver(context) -> None:
    """Forget an interrupt that came after the last check: Z3 keeps it and
    would fail the next push of whatever runs next in this process; a check
    clears it."""
    import z3

    z3.Solver(ctx=context).check()
