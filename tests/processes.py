"""The command line in child processes, synchronised on what they say.

A test that signals a child waits for the child to say it has reached the
point the test is about (a progress line naming a stage, the handlers
installed), never for a while: a loaded machine only makes it wait longer.
Every child runs in a process group of its own, and :func:`spawned` kills
the group on every path out of the test, so nothing outlives it.

- :func:`spawned`: the installed command (``python -m virtio_notifier_spec``)
  as a context manager;
- :func:`read_until`: stderr lines up to the first that matches;
- :func:`watching_signals`: wait until the command's own SIGINT and SIGTERM
  handling is in place (``cli/entry.py``), read from ``/proc``;
- :func:`finish`: the rest of stdout and stderr and the exit code.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from virtio_notifier_spec.cli.progress import ENV as PROGRESS_ENV

#: A bound on any one wait, so that a broken command fails its test rather
#: than hanging it; never reached by a command that works.
PATIENCE = 600.0


@contextlib.contextmanager
def spawned(*args: str, progress: str | None = "0.1", env: dict | None = None, **kw) -> Iterator[subprocess.Popen]:
    """The command with ``args`` in a new process group, stderr piped (and
    progress lines every ``progress`` seconds); killed with its group when
    the block ends."""
    environment = {**os.environ, **(env or {})}
    if progress is not None:
        environment[PROGRESS_ENV] = progress
    command = [sys.executable, "-m", "virtio_notifier_spec", *map(str, args)]
    kw.setdefault("stderr", subprocess.PIPE)
    process = subprocess.Popen(command, env=environment, text=True, start_new_session=True, **kw)
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=PATIENCE)


def read_until(process: subprocess.Popen, wanted: str | Callable[[str], bool]) -> list[str]:
    """stderr lines up to and including the first that matches ``wanted`` (a
    regular expression, or a predicate); an AssertionError with every line
    read if the command ends first."""
    matches = wanted if callable(wanted) else (lambda line: re.search(wanted, line) is not None)
    lines: list[str] = []
    for line in iter(process.stderr.readline, ""):
        lines.append(line)
        if matches(line):
            return lines
    raise AssertionError(f"the command ended (exit {process.wait()}) before saying {wanted!r}:\n{''.join(lines)}")


def _caught(pid: int) -> int:
    """The signals ``pid`` catches (``SigCgt`` of /proc), as a bit mask."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return int(line.split()[1], 16)
    return 0


def watching_signals(process: subprocess.Popen) -> bool:
    """Wait until the command handles SIGTERM itself, that is until its
    entry point has installed its handlers (before that, the interpreter is
    starting and a signal is its own: no program can answer it); False if
    the command ended first. Polls /proc: the state, not the time, decides."""
    mask = 1 << (signal.SIGTERM - 1)
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if _caught(process.pid) & mask:
                return True
        except (FileNotFoundError, ProcessLookupError):
            return False
        time.sleep(0.001)
    raise AssertionError("the command never installed its signal handlers")


def finish(process: subprocess.Popen, head: list[str] = ()) -> tuple[int, str, str]:
    """The exit code, stdout and stderr (``head``: stderr lines already read)."""
    out, err = process.communicate(timeout=PATIENCE)
    return process.returncode, out or "", "".join(head) + (err or "")


def without_progress(text: str) -> list[str]:
    """The lines of ``text`` that are not progress lines."""
    return [line for line in text.splitlines() if not line.startswith("progress: ")]
