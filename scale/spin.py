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
#: SPIN's fastest exact search of a one-process safety model (``make bench``).
BEST_CFLAGS = ("-O3", "-DNOBOUNDCHECK", "-DSAFETY", "-DMEMLIM=16384", "-DVECTORSZ=65536")
#: pan's default arguments: no stop at the first error, a 2,000,000-step depth bound.
PAN_ARGS = ("-c0", "-m2000000")


def sized_pan_args(states: int) -> tuple[str, ...]:
    """pan's arguments for a model of about ``states`` states: a hash table
    of at least twice as many slots (-w) and a depth bound no search can pass
    (-m: a depth-first path visits each state at most once).

    >>> sized_pan_args(462_797)
    ('-c0', '-w20', '-m462897')
    """
    return ("-c0", f"-w{max(10, (2 * states - 1).bit_length())}", f"-m{states + 100}")


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
    generate_seconds: float | None = None  # spin -a
    compile_seconds: float | None = None  # cc
    search_peak_kib: int | None = None  # pan's own peak resident set


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


def run_spin(
    model: str,
    workdir: Path,
    timeout: float = 60.0,
    cflags: tuple[str, ...] = CFLAGS,
    pan_args: tuple[str, ...] = PAN_ARGS,
) -> SpinRun:
    """Verify ``model`` (Promela text) in ``workdir``; see :class:`SpinRun`."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "model.pml").write_text(model)
    began = time.monotonic()
    deadline = began + timeout
    peak = 0
    steps = (["spin", "-a", "model.pml"], ["cc", *cflags, "-o", "pan", "pan.c"], ["./pan", *pan_args])
    output = ""
    search = None
    phases: list[float] = []
    pan_kib = None
    for argv in steps:
        started = time.monotonic()
        status, output, kib = _run(argv, workdir, deadline)
        peak = max(peak, kib)
        seconds = time.monotonic() - began
        phases.append(time.monotonic() - started)
        if argv[0] == "./pan":
            search, pan_kib = phases[-1], kib
        if status is None:
            reason = f"stopped at {timeout:g} s in {argv[0]}"
            progress = re.findall(r"States=\s*([0-9.e+]+)", output)
            if progress:  # pan reports every million states: how far it got
                reason += f" after {float(progress[-1]):,.0f} states"
            return SpinRun(False, None, None, (), seconds, peak, reason, search, *[*phases, None, None][:2], kib)
        if status != 0:
            reason = f"{argv[0]} failed: {output[-300:]}"
            return SpinRun(False, None, None, (), seconds, peak, reason, search, *[*phases, None, None][:2], kib)
    if "out of memory" in output or "max search depth too small" in output:
        return SpinRun(False, None, None, (), seconds, peak, "pan: search incomplete", search)
    stored = re.search(r"^\s*(\d+) states, stored", output, re.M)
    transitions = re.search(r"^\s*([0-9.e+]+) transitions", output, re.M)  # large counts in e-notation
    violated = sorted(set(re.findall(r"^violated: (\w+)$", output, re.M)))
    return SpinRun(
        True,
        int(stored.group(1)) if stored else None,
        round(float(transitions.group(1))) if transitions else None,
        tuple(violated),
        seconds,
        peak,
        search_seconds=search,
        generate_seconds=phases[0],
        compile_seconds=phases[1],
        search_peak_kib=pan_kib,
    )
