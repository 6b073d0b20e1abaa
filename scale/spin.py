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
#: SPIN's fastest exact search of a one-process safety model (``make bench``):
#: no partial-order reduction (one process: nothing to reduce, only its
#: bookkeeping), no fairness code, no byte-masking compression of the stored
#: vector (pan's manual: faster, more memory); add a sized ``-DVECTORSZ``
#: (:func:`best_cflags`).
BEST_CFLAGS = ("-O3", "-DNOBOUNDCHECK", "-DSAFETY", "-DNOREDUCE", "-DNOFAIR", "-DNOCOMP", "-DMEMLIM=16384")


def best_cflags(spec, queues: int) -> tuple[str, ...]:
    """:data:`BEST_CFLAGS` with ``-DVECTORSZ`` sized to the model: the next
    power of two above twice its variables' bytes plus pan's own.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> best_cflags(load_spec("resolved"), 8)[-1]
    '-DVECTORSZ=256'
    """
    per_queue = sum(1 for v in spec.variables if v.per_queue)
    vector = 2 * (per_queue * queues + len(spec.variables) - per_queue + 32)
    return (*BEST_CFLAGS, f"-DVECTORSZ={1 << (vector - 1).bit_length()}")


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


def _run(argv: list[str], cwd: Path, deadline: float, env: dict | None = None) -> tuple[int | None, str, int]:
    """(exit status or None at the deadline, output, peak memory in KiB)."""
    out = cwd / "out.txt"
    with out.open("wb") as sink:
        environment = {**os.environ, **env} if env else None
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, env=environment)
        except OSError as exc:  # no such program (a pan that was never built): a failure, not a crash
            return 127, f"cannot run {argv[0]}: {exc.strerror or exc}", 0
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
    launcher: tuple[str, ...] = (),
) -> SpinRun:
    """Verify ``model`` (Promela text) in ``workdir``; see :class:`SpinRun`.
    ``launcher`` prefixes pan's command line (``make bench`` measures pan's
    own peak memory and CPU time with one: bench/peak.c)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "model.pml").write_text(model)
    began = time.monotonic()
    deadline = began + timeout
    peak = 0
    steps = (["spin", "-a", "model.pml"], ["cc", *cflags, "-o", "pan", "pan.c"], [*launcher, "./pan", *pan_args])
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
        if "./pan" in argv:
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
    reason: str = ""  # why every verdict is unknown (the verifier was not built), or ""

    def shown(self, name: str) -> str:
        """The verdict as a reader sees it: ``unknown (SPIN did not compile in time)``."""
        verdict = self.verdicts[name]
        return f"{verdict} ({self.reason})" if verdict == "unknown" and self.reason else verdict


#: Why SPIN gave no verdict when its verifier was not built before the deadline.
NOT_COMPILED = "SPIN did not compile in time"


def _compile(model: str, workdir: Path, cflags: tuple[str, ...], deadline: float) -> str | None:
    """Generate and compile pan in ``workdir``; None, or why it failed
    (:data:`NOT_COMPILED` when the deadline came first)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "model.pml").write_text(model)
    for argv in (["spin", "-a", "model.pml"], ["cc", *cflags, "-o", "pan", "pan.c"]):
        status, output, _ = _run(argv, workdir, deadline)
        if status is None:
            return NOT_COMPILED
        if status != 0:
            return f"{argv[0]} failed: {output[-300:]}"
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
        if not claims:  # vacuous: the environment issues none of its premise's events
            verdicts[name] = "vacuous"
            continue
        verdict: str | None = None
        for claim in claims if failed is None else ():
            verdict, _ = _pan(workdir, ["-a", "-f", "-N", claim], deadline)
            if verdict != "holds":
                break
        verdicts[name] = verdict or "unknown"
    recoverable = [p for p in spec.liveness if p.kind is PropertyKind.RECOVERABLE]
    listed, output = None, ""
    if recoverable and failed is None:
        listed, output = _pan(workdir, ["-N", REACH_CLAIM], deadline, {"VNS_LIST": "1"})
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
