"""Child processes (QEMU, virtiofsd) that never outlive a run.

Each runs in a process group (a session) of its own, is ended as a whole
(SIGKILL to the group), and asks the kernel to kill it if the thread that
started it dies (``PR_SET_PDEATHSIG``), so that not even a SIGKILL of this
process leaves one behind. Every group still alive when the interpreter
exits is ended (``atexit``): an exception, Ctrl-C and SIGTERM (turned into
an exception by the command line) all pass there.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import tempfile
import time

_LIVE: dict[int, subprocess.Popen] = {}
_PR_SET_PDEATHSIG = 1
REAP_SECONDS = 5.0


def _die_with_parent() -> None:  # runs in the child, between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Child:
    """A started child, its stderr kept in a file (``stderr_text``)."""

    def __init__(self, argv: list[str], *, pass_fds: tuple[int, ...] = (), cwd: str | None = None) -> None:
        self.argv = argv
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by end()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self.stderr,
            stderr=self.stderr,
            pass_fds=pass_fds,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        _LIVE[self.proc.pid] = self.proc

    @property
    def pid(self) -> int:
        return self.proc.pid

    def exited(self) -> int | None:
        """Its exit status once it has exited (a signal as -N), else None."""
        return self.proc.poll()

    def stderr_text(self) -> str:
        try:
            self.stderr.seek(0)
            return self.stderr.read()[-8192:].decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def wait_output(self, text: str, seconds: float) -> bool:
        """Whether ``text`` appears in its output within ``seconds`` (False
        when it exits or the time runs out first)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.stderr_text():
                return True
            if self.exited() is not None:
                return text in self.stderr_text()
            time.sleep(0.002)
        return False

    def end(self, *, wait: bool = True) -> None:
        """Kill its whole group and reap it (``wait=False``: reaped later, by
        :func:`reap` or at exit; it is dead either way)."""
        if wait:
            _end(self.proc)
            _LIVE.pop(self.proc.pid, None)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            reap()
        with contextlib.suppress(OSError, ValueError):
            self.stderr.close()


def _end(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        proc.wait(timeout=REAP_SECONDS)


def reap() -> None:
    """Reap the children that have exited, without waiting for the others."""
    for pid, proc in list(_LIVE.items()):
        if proc.poll() is not None:
            _LIVE.pop(pid, None)


def live() -> list[int]:
    """The pids of the children started here and not yet ended."""
    return [pid for pid, proc in _LIVE.items() if proc.poll() is None]


@atexit.register
def end_all() -> None:
    """End every child still alive (also called by the command line on its way out)."""
    for pid in list(_LIVE):
        _end(_LIVE.pop(pid))
