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


def _run(argv: list[str], cwd: Path, deadline: float, env: dict | None = None) -> tuple[int | None, str, int]:
    """(exit status or None at the deadline, output, peak memory in KiB)."""
    out = cwd / "out.txt"
    with out.open("wb") as sink:
        environment = {**os.environ, **env} if env else None
        proc = subprocess.Popen(argv, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, env=environment)
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


# -- liveness -------------------------------------------------------------------

#: pan for the liveness models: no partial-order reduction, so that nothing
#: but SPIN's own search stands between the model and the verdict.
LIVENESS_CFLAGS = ("-O0", "-DNOREDUCE", "-DVECTORSZ=65536")
#: pan's search depth and hash table (2^14 slots, chained: the models are
#: small, and allocating more costs more than the search); a search that
#: needs more depth says so, and its verdict is unknown
_SEARCH = ("-m100000", "-w14")


@dataclass(frozen=True, slots=True)
class SpinLiveness:
    """SPIN's verdict (``holds``, ``fails``, ``unknown``) on each liveness
    property; for ``recoverable`` ones, the premise states (as printed by
    the model, :func:`~.promela.to_promela_liveness`) from which no run reaches
    the goal, per property."""

    verdicts: dict[str, str]
    stuck: dict[str, tuple[str, ...]]
    seconds: float
    reason: str = ""


def _compile(model: str, workdir: Path, cflags: tuple[str, ...], deadline: float) -> str | None:
    """Generate and compile pan in ``workdir``; None, or why it failed."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "model.pml").write_text(model)
    for argv in (["spin", "-a", "model.pml"], ["cc", *cflags, "-o", "pan", "pan.c"]):
        status, output, _ = _run(argv, workdir, deadline)
        if status != 0:
            return f"{argv[0]} failed: {output[-300:]}" if status is not None else f"stopped in {argv[0]}"
    return None


def _pan(workdir: Path, args: list[str], deadline: float, env: dict | None = None) -> tuple[str | None, str]:
    """(``holds``/``fails`` by pan's error count, or None when it could not tell; output)."""
    status, output, _ = _run(["./pan", *args, *_SEARCH], workdir, deadline, env)
    errors = re.search(r"errors: (\d+)", output)
    if status is None or errors is None or "max search depth too small" in output:
        return None, output
    return ("fails" if int(errors.group(1)) else "holds"), output


def spin_liveness(spec, queues: int, workdir: Path, *, fair: bool = True, timeout: float = 120.0) -> SpinLiveness:
    """Every liveness property of ``spec`` with ``queues`` queues, by SPIN,
    from one model (:func:`~.promela.to_promela_liveness`) compiled once.

    ``leads_to`` and ``deadlock_free``: each LTL claim with ``pan -a -f``
    (acceptance cycles under weak fairness of processes). ``recoverable``:
    a run lists SPIN's reachable premise states, then ``pan`` probes each
    for a run to the goal.
    """
    from virtio_notifier_spec.spec.schema import PropertyKind

    from .promela import REACH_CLAIM, claim_names, to_promela_liveness

    began = time.monotonic()
    deadline = began + timeout
    verdicts: dict[str, str] = {}
    stuck: dict[str, tuple[str, ...]] = {}
    failed = _compile(to_promela_liveness(spec, queues, fair), workdir, (*LIVENESS_CFLAGS, "-DNFAIR=8"), deadline)
    for name, claims in claim_names(spec, queues).items():
        verdict: str | None = None
        for claim in claims if failed is None else ():
            verdict, _ = _pan(workdir, ["-a", "-f", "-N", claim], deadline)
            if verdict != "holds":
                break
        verdicts[name] = verdict or "unknown"
    recoverable = [p for p in spec.liveness if p.kind is PropertyKind.RECOVERABLE]
    listed, output = _pan(workdir, ["-N", REACH_CLAIM], deadline, {"VNS_LIST": "1"}) if recoverable else (None, "")
    starts: dict[str, set[str]] = {}
    for line in output.splitlines():
        if line.startswith("C") and " " in line:
            tag, _, cells = line[1:].partition(" ")
            starts.setdefault(tag, set()).add(cells)
    for k, prop in enumerate(recoverable, start=1):
        found, verdict = [], "holds" if listed == "holds" else "unknown"
        for tag in sorted(t for t in starts if t.split(".")[0] == str(k)):
            for cells in sorted(starts[tag]):
                probe = {"VNS_PROBE": tag, "VNS_START": cells}
                reached, _ = _pan(workdir, ["-N", REACH_CLAIM], deadline, probe)
                if reached is None:
                    verdict = "unknown"
                elif reached == "holds":  # no assertion violated: the goal is out of reach
                    found.append(f"{tag}: {cells}")
        verdicts[prop.name] = "fails" if found else verdict
        stuck[prop.name] = tuple(found)
    ordered = {p.name: verdicts[p.name] for p in spec.liveness}
    return SpinLiveness(ordered, stuck, time.monotonic() - began, failed or "")
