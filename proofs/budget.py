"""Time for the proofs: ``prove --timeout``, and Z3's answers read honestly.

Every Z3 check of the proofs goes through :func:`check`. It gives the solver
what is left of the :class:`Budget` (Z3's own ``timeout``, so a long query
stops too) and raises :class:`OutOfTime` when nothing is left.

Ctrl-C: left to itself, Z3 catches SIGINT during a check, cancels it and
answers *unknown*; a signal that arrives as a check ends is lost, and
Python never sees it. So Z3's handler is switched off (``ctrl_c``), and a
check runs on a thread of its own while the main thread, where Python
handles signals, waits: Ctrl-C raises :class:`KeyboardInterrupt` there at
once, and the check is interrupted (``Z3_interrupt``) before it
propagates. The thread is a daemon made for the one check, never a pool's
worker: nothing is left for the interpreter to join at exit, so a stopped
proof cannot hold the process (a solver that ignores its interruption is
waited for :data:`GRACE` seconds, then left behind).

>>> import z3
>>> solver = z3.Solver()
>>> solver.add(z3.Bool("x"))
>>> check(solver, budget=Budget(None)) == z3.sat
True
>>> check(solver, budget=Budget(0.0))
Traceback (most recent call last):
...
virtio_notifier_spec.proofs.budget.OutOfTime: stopped at --timeout
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import z3


class OutOfTime(Exception):
    """The budget ran out before (or during) a check."""

    def __init__(self) -> None:
        super().__init__("stopped at --timeout")


class Budget:
    """A deadline for a whole run (None: no limit)."""

    __slots__ = ("deadline",)

    def __init__(self, seconds: float | None) -> None:
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None without a limit."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def charge(self) -> None:
        """Raise :class:`OutOfTime` when nothing is left."""
        if self.expired:
            raise OutOfTime


UNLIMITED = Budget(None)


#: Seconds a check interrupted by Ctrl-C is given to stop before the
#: interruption goes on without it.
GRACE = 5.0


def _on_own_thread(call: Callable[[], z3.CheckSatResult], solver: z3.Solver) -> z3.CheckSatResult:
    """``call()`` on a daemon thread; this thread waits, so that Ctrl-C is
    seen here at once and interrupts the solver."""
    done = threading.Event()
    answer: dict[str, object] = {}

    def work() -> None:
        try:
            answer["value"] = call()
        except BaseException as exc:  # handed to the waiting thread
            answer["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="z3-check", daemon=True).start()
    try:
        done.wait()
    except KeyboardInterrupt:
        solver.ctx.interrupt()
        done.wait(GRACE)
        raise
    if "error" in answer:
        raise answer["error"]  # type: ignore[misc]
    return answer["value"]  # type: ignore[return-value]


def check(
    solver: z3.Solver, *assumptions: z3.BoolRef, budget: Budget = UNLIMITED, quick: bool = False
) -> z3.CheckSatResult:
    """``solver.check(*assumptions)`` within ``budget``: sat, unsat or unknown
    (the solver gave up); :class:`OutOfTime` or :class:`KeyboardInterrupt`
    instead of an unknown that means either. ``quick`` checks (many tiny
    ones) run on this thread: Ctrl-C then waits for the check to end."""
    budget.charge()
    left = budget.remaining()
    if left is not None:
        solver.set("timeout", max(1, int(left * 1000)))
    solver.set("ctrl_c", False)
    outcome = solver.check(*assumptions) if quick else _on_own_thread(lambda: solver.check(*assumptions), solver)
    if outcome == z3.unknown:
        reason = solver.reason_unknown()
        if "interrupted" in reason:
            raise KeyboardInterrupt
        if budget.expired or (left is not None and reason in ("timeout", "canceled")):
            raise OutOfTime
    return outcome
