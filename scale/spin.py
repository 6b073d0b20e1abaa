"""Run SPIN on a generated Promela model: generate the verifier, compile it,
run it exhaustively, and read back the stored states and failing checks.

Each of the three commands runs as a child whose peak memory is read from
``wait4``; the run stops at ``timeout`` seconds (compile and search
together), which is a result, not an error.

>>> available() in (True, False)
True
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

#: How pan is compiled: safety properties only, room for large searches.
CFLAGS = ("-O2", "-DSAFETY", "-DMEMLIM=16384", "-DVECTORSZ=65536")
#: For small models in tests: compiles in a fraction of the time.
QUICK_CFLAGS = ("-O0", "-DSAFETY", "-DVECTORSZ=65536")


def available() -> bool:
    """SPIN and a C compiler are installed."""
    return shutil.which("spin") is not None and shutil.which("cc") is not None


@dataclass(frozen=True, slots=True)
class SpinRun:
    """What one SPIN run found. ``finished`` is False when it stopped at the
    time limit or failed (``reason`` says which)."""

    finished: bool
    states: int | None
    transitions: int | None
    violated: tuple[str, ...]
    seconds: float
    peak_kib: int
    reason: str = ""
    search_seconds: float | None = None  # pan alone, without generating and compiling it


def _run(argv: list[str], cwd: Path, deadline: float) -> tuple[int | None, str, int]:
    """(exit status or None at the deadline, output, peak memory in KiB)."""
    out = cwd / "out.txt"
    with out.open("wb") as sink:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                return proc.returncode, out.read_text(errors="replace"), usage.ru_maxrss
            if time.monotonic() > deadline:
                proc.kill()
                _, _, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return None, out.read_text(errors="replace"), usage.ru_maxrss
            time.sleep(0.01)


def run_spin(model: str, workdir: Path, timeout: float = 60.0, cflags: tuple[str, ...] = CFLAGS) -> SpinRun:
    """Verify ``model`` (Promela text) in ``workdir``; see :class:`SpinRun`."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "model.pml").write_text(model)
    began = time.monotonic()
    deadline = began + timeout
    peak = 0
    steps = (["spin", "-a", "model.pml"], ["cc", *cflags, "-o", "pan", "pan.c"], ["./pan", "-c0", "-m2000000"])
    output = ""
    search = None
    for argv in steps:
        started = time.monotonic()
        status, output, kib = _run(argv, workdir, deadline)
        peak = max(peak, kib)
        seconds = time.monotonic() - began
        if argv[0] == "./pan":
            search = time.monotonic() - started
        if status is None:
            reason = f"stopped at {timeout:g} s in {argv[0]}"
            progress = re.findall(r"States=\s*([0-9.e+]+)", output)
            if progress:  # pan reports every million states: how far it got
                reason += f" after {float(progress[-1]):,.0f} states"
            return SpinRun(False, None, None, (), seconds, peak, reason, search)
        if status != 0:
            return SpinRun(False, None, None, (), seconds, peak, f"{argv[0]} failed: {output[-300:]}", search)
    if "out of memory" in output or "max search depth too small" in output:
        return SpinRun(False, None, None, (), seconds, peak, "pan: search incomplete", search)
    stored = re.search(r"^\s*(\d+) states, stored", output, re.M)
    transitions = re.search(r"^\s*(\d+) transitions", output, re.M)
    violated = sorted(set(re.findall(r"^violated: (\w+)$", output, re.M)))
    return SpinRun(
        True,
        int(stored.group(1)) if stored else None,
        int(transitions.group(1)) if transitions else None,
        tuple(violated),
        seconds,
        peak,
        search_seconds=search,
    )
