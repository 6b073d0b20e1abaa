"""The installed entry point, ``virtio-notifier-spec`` (and ``python -m
virtio_notifier_spec``): Ctrl-C and SIGTERM are watched before anything
heavy is imported, so a stop in the first second is one line and its exit
code (130, 143) like a stop at any other moment, never a traceback.

The commands themselves are :mod:`.main`'s; this module imports only the
standard library and :mod:`.signals` until they are needed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys

from . import signals


def _say(message: str) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


def main() -> None:
    """Run the command line and exit with its code."""
    signals.install()
    try:
        from .main import run  # the commands, and numpy, z3, rich under them

        code = run()
    except KeyboardInterrupt:  # before a command's own guard was in place
        _say(signals.name())
        code = signals.exit_code()
    finally:
        signals.settle()
    if signals.received() is not None:
        code = signals.exit_code()
    _exit(code)


def _exit(code: int) -> None:
    """Exit with ``code``, and nothing else: the exit handlers run (temporary
    folders go), output is flushed, then the process ends at once. Two
    things of the interpreter's own exit are skipped on purpose: joining
    threads (a solver that ignored its interruption must not hold the
    process), and dying by SIGINT instead of exiting with ``code`` (the
    interpreter does so whenever a KeyboardInterrupt once escaped code it
    ran with ``exec``, such as a dataclass being made during an import,
    even when the program then caught it)."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(code)
