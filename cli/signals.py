"""Ctrl-C (SIGINT) and SIGTERM: both stop a command the same way.

While :func:`watching` is active (the entry point enters it before the
heavy imports, :func:`.guard.run` around every command), either signal
raises :class:`KeyboardInterrupt` in the main thread, so every search that
keeps what it found on Ctrl-C keeps it on SIGTERM too. An exception raised
inside a finalizer (a Z3 object's, when the signal lands there) is
swallowed by the interpreter: the signal is then sent again a moment later,
to land where it stops the run. And it is remembered (:func:`received`):
work that polls (the proofs) stops on it, and it decides the exit code,
128 + its number: 130 for Ctrl-C, 143 for SIGTERM.

This module imports nothing of the project and nothing heavy, so that the
entry point can install it first.

>>> code_for(signal.SIGINT), code_for(signal.SIGTERM)
(130, 143)
>>> received() is None
True
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator

#: The signals that stop a command as Ctrl-C does.
STOPPING = (signal.SIGINT, signal.SIGTERM)

_state = {"signal": None, "depth": 0, "again": 0, "in_hook": False, "settled": False}
_lock = threading.Lock()


def code_for(signum: int) -> int:
    """The exit code of a command stopped by ``signum`` (the shell's 128 + n)."""
    return 128 + int(signum)


def received() -> int | None:
    """The first stopping signal received while watching, or None."""
    return _state["signal"]


def exit_code() -> int:
    """128 + the signal received (130 when none was: a KeyboardInterrupt
    raised by other means counts as Ctrl-C)."""
    return code_for(received() or signal.SIGINT)


def name() -> str:
    """How the stop is reported: ``interrupted`` (Ctrl-C) or ``interrupted by SIGTERM``."""
    signum = received()
    return "interrupted" if signum in (None, signal.SIGINT) else f"interrupted by {signal.Signals(signum).name}"


#: How many times a stop swallowed by a finalizer is delivered again.
REDELIVERIES = 100


def _unraisable(unraisable) -> None:
    """After a stop, an object half made (a Z3 context, say) may fail in its
    finalizer; the run is ending, so that is not worth a traceback. And the
    KeyboardInterrupt itself may have been raised inside a finalizer, which
    swallows it (the run would go on as if the stop were ignored): the
    signal is then sent again, to be raised where it can stop the run."""
    signum = _state["signal"]
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and signum is not None and _state["again"] < REDELIVERIES:
        _state["again"] += 1
        # from another thread, a moment later, so that it arrives once the
        # finalizer has returned (raised here, it would be swallowed again)
        _state["in_hook"] = True
        try:
            threading.Thread(target=_deliver_later, args=(signum,), daemon=True).start()
        finally:
            _state["in_hook"] = False


def _deliver_later(signum: int) -> None:
    time.sleep(0.01)
    with _lock:
        if not _state["settled"]:  # never once the command is ending (the interpreter's default would kill it)
            signal.pthread_kill(threading.main_thread().ident, signum)


def _note(signum: int) -> None:
    if _state["signal"] is None:
        _state["signal"] = signum
    sys.unraisablehook = _unraisable


def _raise(signum, frame) -> None:
    _note(signum)
    if _state["in_hook"]:  # the thread just started delivers it again
        return
    raise KeyboardInterrupt


def _remember(signum, frame) -> None:
    _note(signum)


def install() -> None:
    """Watch from here to the end of the process (the entry point, first
    thing): blocks of :func:`watching` inside it add nothing. Z3, imported
    later, is told to leave SIGINT alone (:func:`quiet_solver`)."""
    if threading.current_thread() is threading.main_thread():
        _state.update(signal=None, again=0, settled=False)
        _state["depth"] += 1
        for signum in STOPPING:
            signal.signal(signum, _raise)


@contextlib.contextmanager
def watching() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`KeyboardInterrupt` for the block
    (main thread only; nested blocks share the outermost one's record)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _lock:
        outermost = _state["depth"] == 0
        _state["depth"] += 1
    previous = {}
    quiet_solver()
    if outermost:
        _state.update(signal=None, again=0, settled=False)
        previous = {s: signal.signal(s, _raise) for s in STOPPING}
    try:
        yield
    finally:
        with _lock:
            _state["depth"] -= 1
            if outermost:
                _state["settled"] = True
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def quiet_solver() -> None:
    """Z3 installs a SIGINT handler of its own around every check unless
    told not to (``ctrl_c``): a Ctrl-C there cancels the check and never
    reaches the program (which then goes on, as if it had been ignored), or
    kills the process outright. Told once, for every solver of the process."""
    z3 = sys.modules.get("z3")
    if z3 is not None:
        z3.set_param("ctrl_c", False)


def settle() -> None:
    """From here on (the end of a command: its last flush, the interpreter's
    shutdown) a signal is only remembered, never raised where nothing can
    catch it; the exit code still says it came (:func:`received`)."""
    with _lock:
        _state["settled"] = True
    if threading.current_thread() is threading.main_thread():
        for signum in STOPPING:
            signal.signal(signum, _remember)


def forget() -> None:
    """Clear the record (tests that simulate a signal)."""
    _state["signal"] = None
