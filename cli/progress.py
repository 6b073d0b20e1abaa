"""Progress of a long run, on stderr, so that a run is never silent for long.

On a terminal: a live line (states, rate, depth, elapsed time) once the run
has lasted a second, erased when it ends. Off a terminal (a CI log, a file):
one plain line at a steady interval, every 10 seconds or every
``VIRTIO_NOTIFIER_SPEC_PROGRESS`` seconds (``off``: none, as ``--quiet``), e.g.::

    progress: resolved, 6 queue(s): 120,000 states (21,400/s), depth 14 [12 s]

``--quiet`` shows nothing. A heartbeat thread does the printing, so a run
with nothing to count (a proof inside the solver, a drawing) still says
it is alive; what it counts comes from :meth:`Progress.update` and the
explorers' callbacks.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Callable

from rich.progress import Progress as LiveBar
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

from .output import console, on_terminal

ENV = "VIRTIO_NOTIFIER_SPEC_PROGRESS"
EVERY = 10.0  # seconds between two lines off a terminal
LIVE_AFTER = 1.0  # seconds before the live line appears on a terminal


def interval() -> float | None:
    """Seconds between progress lines off a terminal (the environment may
    say), or None for ``off``."""
    setting = os.environ.get(ENV, "").strip()
    if setting.lower() == "off":
        return None
    try:
        every = float(setting or EVERY)
    except ValueError:
        return EVERY
    return every if math.isfinite(every) and every > 0 else EVERY


class Progress:
    """One command's progress; use as a context manager.

    >>> with Progress("demo", quiet=True) as p:
    ...     p.stage("resolved, 1 queue(s)")
    ...     p(2000, 9000, 7)
    >>> p.status
    '2,000 states'
    """

    def __init__(self, label: str, *, quiet: bool = False, poll: Callable[[], str] | None = None) -> None:
        self.label = label
        self.quiet = quiet
        self.poll = poll  # asked for the status at each line, when the work cannot report it
        self.status = ""
        self.began = time.monotonic()
        self.stage_began = self.began
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.printed = threading.Event()  # set once a line has been written (tests wait on it)

    # -- what is shown ----------------------------------------------------------
    def stage(self, label: str) -> None:
        """A new part of the run (the next queue count, the next table)."""
        self.label = label
        self.status = ""
        self.stage_began = time.monotonic()

    def update(self, status: str) -> None:
        self.status = status

    def __call__(self, states: int, edges: int, depth: int) -> None:
        """The explorers' callback."""
        took = time.monotonic() - self.stage_began
        rate = f" ({states / took:,.0f}/s), depth {depth}" if took >= 1 else ""
        self.status = f"{states:,} states{rate}"

    def line(self) -> str:
        elapsed = time.monotonic() - self.began
        if self.poll is not None:
            with contextlib.suppress(OSError, ValueError):  # a stream closed meanwhile
                self.status = self.poll()
        status = f": {self.status}" if self.status else ""
        return f"progress: {self.label}{status} [{elapsed:.0f} s]"

    # -- the heartbeat ----------------------------------------------------------
    def __enter__(self) -> Progress:
        if not self.quiet and interval() is not None:
            beat = self._live if on_terminal(sys.stderr) else self._lines
            self._thread = threading.Thread(target=beat, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _lines(self) -> None:
        every = interval() or EVERY
        while not self._stop.wait(every):
            try:
                print(self.line(), file=sys.stderr, flush=True)
            except (OSError, ValueError):  # stderr closed: nothing to tell
                return
            self.printed.set()

    def _live(self) -> None:
        if self._stop.wait(LIVE_AFTER):
            return
        bar = LiveBar(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console(stderr=True),
            transient=True,
        )
        task = bar.add_task(self.label)
        with bar:
            while not self._stop.wait(0.2):
                bar.update(task, description=self.line().removeprefix("progress: ").rsplit(" [", 1)[0])
