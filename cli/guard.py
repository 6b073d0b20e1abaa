"""Every command ends in one line and an exit code, never a traceback.

:func:`guarded` wraps a command's body (a function returning an exit code):

- bad input (:class:`SpecError`, and :class:`.output.OutputError` for an
  output path that cannot be used): the located line, exit 2;
- Ctrl-C or SIGTERM (:mod:`.signals`): ``interrupted``, exit 130 or 143
  (commands that can print what they had decided catch it first and do
  so); a signal whose KeyboardInterrupt something swallowed still ends the
  command with its code, once the body returns;
- ``--timeout`` in work that cannot stop by itself: exit 3;
- output that cannot be written (a closed pipe, a full disk, ``/dev/full``,
  :class:`.output.OutputLost` for a file after the verdict): one line on
  stderr, exit 4; an output path that cannot be used (no such folder,
  permission denied): exit 2;
- anything else is a bug of ours: ``internal error: ...``, exit 4 (the
  traceback with ``VIRTIO_NOTIFIER_SPEC_TRACEBACK=1``).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import sys
import traceback
from collections.abc import Callable

import click

from virtio_notifier_spec.model.explore import INTERRUPTED
from virtio_notifier_spec.spec.errors import SpecError

from . import signals
from .deadline import TimeoutReached
from .exitcodes import ExitCode
from .output import OutputError, OutputLost  # noqa: F401  (raised by commands, reported here)

TRACEBACK_ENV = "VIRTIO_NOTIFIER_SPEC_TRACEBACK"
_DEVICE_ERRORS = {errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG}


def say(message: str) -> None:
    """One line on stderr; silent if stderr itself is gone."""
    with contextlib.suppress(OSError, ValueError):
        click.echo(message, err=True)


def stopped_note(partial: str | None) -> None:
    """The line on stderr that says a run stopped before it could decide everything."""
    if partial == INTERRUPTED:
        say("interrupted: the runs above stopped early; properties without a verdict are unknown")
    elif partial:
        say(f"incomplete: {partial}; properties without a verdict are unknown")


def _detach_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush of
    what could not be written does not fail a second time."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _flush_stdout() -> None:
    stream = sys.stdout
    if stream is not None and not stream.closed:
        stream.flush()


def interrupted() -> bool:
    """Ctrl-C (or SIGTERM) came during this command. The KeyboardInterrupt
    it raised may have landed in a finalizer (a Z3 object's, say), which
    swallows it: work that polls (the proofs' budget) raises it again."""
    return signals.received() is not None


def run(body: Callable[[], int]) -> int:
    """Run ``body`` and turn what it raises into one line and an exit code."""
    with signals.watching():
        code = _run(body)
        if signals.received() is not None and code not in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
            # a signal whose KeyboardInterrupt something swallowed: the run
            # did not stop where it came, but the caller asked it to stop
            say(f"{signals.name()}: what is printed above may be incomplete")
        return signals.exit_code() if signals.received() is not None else code


def _run(body: Callable[[], int]) -> int:
    try:
        code = body()
        _flush_stdout()
        return int(code)
    except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
        raise
    except SpecError as exc:
        say(f"error: {exc}")
        return ExitCode.BAD_INPUT
    except KeyboardInterrupt:
        say(signals.name())
        return signals.exit_code()
    except OutputLost as exc:
        say(f"error: {exc} (the report above is complete)")
        return ExitCode.INTERNAL
    except TimeoutReached:
        say("stopped at --timeout before anything was decided")
        return ExitCode.INCOMPLETE
    except BrokenPipeError:
        _detach_stdout()
        say("error: cannot write the output: the reader closed the pipe")
        return ExitCode.INTERNAL
    except OSError as exc:
        if exc.filename is None and exc.errno is None:  # raised by us: a stream that is not there
            say(f"internal error: {exc} (an I/O failure)")
            return ExitCode.INTERNAL
        if exc.filename is None:  # writing stdout failed (ENOSPC, EIO, ...)
            _detach_stdout()
            say(f"error: cannot write the output: {exc.strerror or exc}")
            return ExitCode.INTERNAL
        say(f"error: {exc.filename}: {exc.strerror or exc}")
        # A path the user named that cannot be used is bad input; a disk
        # that fails or fills up is not.
        return ExitCode.INTERNAL if exc.errno in _DEVICE_ERRORS else ExitCode.BAD_INPUT
    except RecursionError:
        say("internal error: an expression is nested too deeply for this command")
        return ExitCode.INTERNAL
    except Exception as exc:
        if signals.received() is not None:  # Ctrl-C landed inside a library call (ctypes wraps it for Z3)
            say(signals.name())
            return signals.exit_code()
        if os.environ.get(TRACEBACK_ENV):
            traceback.print_exc()
        say(f"internal error: {type(exc).__name__}: {exc} (set {TRACEBACK_ENV}=1 for the traceback)")
        return ExitCode.INTERNAL


def guarded(command: Callable[..., int]) -> Callable[..., None]:
    """Decorate a click command's function that returns an exit code.

    >>> @guarded
    ... def body() -> int:
    ...     raise SpecError("expected a list", file="t.toml", line=3, field="from")
    >>> try:
    ...     body()
    ... except SystemExit as done:
    ...     print(done.code)
    2
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs) -> None:
        sys.exit(run(lambda: command(*args, **kwargs)))

    return wrapper
