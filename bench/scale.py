"""The engines side by side with SPIN and a C floor, in one run, on `resolved`: `make bench`.

For each queue count N, each search in a fresh child process (so that one
run's memory cannot help or hurt another):

- ``general``: the general explorer (model/explore.py), every concrete state;
- ``packed``: the packed engine (model/packed.py), with 1 thread and with 2;
- ``C floor``: the packed engine's own step tables searched by a plain C
  breadth-first search (bench/cfloor.c, built with the machine's cc): the
  same states and transitions, asserted, with no NumPy and no checks: the
  floor an array engine can approach;
- ``SPIN``: the Promela export (scale/promela.py) verified by pan compiled
  at SPIN's best exact setting (scale/spin.py ``best_cflags``: -O3
  -DNOBOUNDCHECK -DSAFETY -DNOREDUCE -DNOFAIR -DNOCOMP and a sized
  -DVECTORSZ), a hash table sized to the model (-w), a depth bound no search
  can pass (-m) and no listing of unreached code (-n). The export asserts
  every invariant after every transition (SPIN has no hook that runs on a
  newly stored state only, which is where our engines check them);
  ``SPIN, no invariants`` is the same search of an export without those
  assertions (``to_promela(invariants=False)``), to show what they cost.
  ``SPIN -DCOLLAPSE`` (lossless compression of the stored states) and
  ``SPIN -DHC4`` (hash compaction: lossy, it may miss states, and its count
  says when it did) are reported apart. `spin -a` and `cc` are timed in
  their own column;
- ``orbits`` and ``support``: the queue-symmetry reductions (scale/search.py).

What the columns measure:

- CPU seconds of the search alone (ours: `explore` in the child after
  imports, loading the table and a 1-queue warm-up; the C floor: its search
  loop; SPIN: pan's user and system time, from the launcher bench/peak.c),
  and wall seconds beside them. The machine is shared (two cores, a load
  average of several): CPU time moves far less with the load than the
  clock, and the ratios compare CPU seconds of one run.
- Peak memory: every process's own high-water mark. Ours and the C
  floor's: VmHWM from /proc/self/status (exec gives a process a fresh
  one). pan's: ru_maxrss through bench/peak.c, a launcher of about 1 MiB:
  `wait4` from Python would report Python's peak, which Linux carries
  across fork and exec. Bytes per state compare the same thing on both
  sides: the whole process's peak over the states stored. Ours also shows
  the growth during the search over the states (after the interpreter,
  NumPy and the table are loaded), which has no SPIN counterpart.

Every row carries the 1-minute load average when it began. Writes
bench/results.md; nothing here is a test.

    python bench/scale.py [--queues 4,6,8,10] [--spin-queues 4,6,8,10] [--reduced 4,8,...] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CONCRETE = (4, 6, 8, 10)  # unreduced: general, packed, C floor, SPIN
REDUCED = (4, 8, 10, 12, 16, 32, 64, 256, 1024)
CAPS = {"general": 90.0, "packed": 900.0, "orbits": 120.0, "support": 120.0, "spin": 2400.0}
SPIN_OFFSET = 1  # SPIN also stores the state of `init` before its atomic start
#: SPIN's variants beyond the best exact one, run up to this many queues
VARIANT_QUEUES = 8


@dataclass
class Run:
    engine: str
    queues: int
    finished: bool
    states: int | None = None
    transitions: int | None = None
    cpu: float | None = None
    wall: float | None = None
    peak_mib: float | None = None
    growth: float | None = None  # ours: bytes per state grown during the search
    setup: float | None = None  # SPIN: spin -a plus cc; the C floor: cc
    load: float = 0.0
    note: str = ""
    ok: bool = True

    @property
    def rate(self) -> float | None:
        return self.states / self.cpu if self.finished and self.cpu and self.states else None

    @property
    def bytes_per_state(self) -> float | None:
        if not (self.finished and self.peak_mib and self.states):
            return None
        return self.peak_mib * 1024 * 1024 / self.states


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0  # pragma: no cover


def one(engine: str, queues: int, workers: int) -> None:
    """The child: one search, one JSON line."""
    from virtio_notifier_spec.scale.search import explore
    from virtio_notifier_spec.spec.load import load_spec

    spec = load_spec("resolved")
    reduced = engine in ("orbits", "support")
    options = {"symmetry": engine} if reduced else {"engine": engine, "workers": workers}
    explore(spec, 1, **options)  # warm up: tables and caches for one queue, not timed
    start_kib = _status_kib("VmRSS:")
    began, cpu = time.perf_counter(), time.process_time()
    result = explore(spec, queues, **options)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - began
    doc = {"states": result.states, "transitions": result.transitions, "cpu": cpu, "wall": wall}
    doc |= {"start_kib": start_kib, "peak_kib": _status_kib("VmHWM:"), "ok": result.ok}
    print(json.dumps(doc | {"reduction": result.reduction, "cutoff": result.cutoff}))


def _child(engine: str, queues: int, workers: int = 1) -> Run:
    load = os.getloadavg()[0]
    argv = [sys.executable, str(Path(__file__)), "--one", engine, str(queues), str(workers)]
    label = engine if engine != "packed" else f"packed, {workers} thread{'s' if workers > 1 else ''}"
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=CAPS[engine], check=True).stdout
    except subprocess.TimeoutExpired:
        return Run(label, queues, False, load=load, note=f"stopped at {CAPS[engine]:g} s")
    except subprocess.CalledProcessError as exc:
        return Run(label, queues, False, load=load, note=f"failed: {exc.stderr.strip()[-200:]}")
    data = json.loads(out.strip().splitlines()[-1])
    grown = max(data["peak_kib"] - data["start_kib"], 0) * 1024
    note = f"cutoff {data['cutoff']}" if data.get("cutoff") else ""
    if engine in ("orbits", "support") and data["reduction"] != engine:
        note = f"below the cutoff: {data['reduction']}"
    return Run(
        label,
        queues,
        True,
        data["states"],
        data["transitions"],
        data["cpu"],
        data["wall"],
        data["peak_kib"] / 1024,
        grown / data["states"],
        load=load,
        note=note,
        ok=data["ok"],
    )


def _floor(queues: int, binary: Path, build_seconds: float, expect: Run | None) -> Run:
    from cfloor import run_floor

    from virtio_notifier_spec.spec.load import load_spec

    load = os.getloadavg()[0]
    counts = (expect.states, expect.transitions) if expect and expect.finished else None
    began = time.perf_counter()
    data = run_floor(load_spec("resolved"), queues, binary, counts)  # raises when the counts differ
    wall = time.perf_counter() - began
    note = "same states and transitions as the packed engine" if counts else ""
    return Run(
        "C floor",
        queues,
        True,
        data["states"],
        data["transitions"],
        data["seconds"],
        wall,
        data["peak_kib"] / 1024,
        setup=build_seconds,
        load=load,
        note=note,
    )


def _spin(label: str, queues: int, states: int | None, peak: Path, extra: tuple = (), invariants=True) -> Run:
    from virtio_notifier_spec.scale.promela import to_promela
    from virtio_notifier_spec.scale.spin import PAN_ARGS, best_cflags, run_spin, sized_pan_args
    from virtio_notifier_spec.spec.load import load_spec

    spec = load_spec("resolved")
    load = os.getloadavg()[0]
    pan_args = (*sized_pan_args(states + SPIN_OFFSET), "-n") if states else PAN_ARGS
    # pan compresses stored states its own way under COLLAPSE and HC: no -DNOCOMP with them
    cflags = (*(f for f in best_cflags(spec, queues) if not (extra and f == "-DNOCOMP")), *extra)
    with tempfile.TemporaryDirectory() as work:
        report = Path(work) / "peak.json"
        launcher = (str(peak), str(report), "--")
        model = to_promela(spec, queues, invariants=invariants)
        spin = run_spin(model, Path(work), CAPS["spin"], cflags, pan_args, launcher)
        measured = json.loads(report.read_text()) if report.exists() else None
    setup = (spin.generate_seconds or 0) + (spin.compile_seconds or 0)
    note = " ".join([*extra, *pan_args])
    if not spin.finished:
        note += f"; {spin.reason}"
    elif states and spin.states != states + SPIN_OFFSET:
        note += f"; {states + SPIN_OFFSET - spin.states:,} states missed"
    cpu = measured["user"] + measured["system"] if measured else None
    return Run(
        label,
        queues,
        spin.finished,
        spin.states,
        spin.transitions,
        cpu,
        spin.search_seconds,
        measured["peak_kib"] / 1024 if measured and spin.finished else None,
        setup=setup,
        load=load,
        note=note,
        ok=not spin.violated,
    )


def _cell(value, form: str = ",.0f") -> str:
    return "-" if value is None else format(value, form)


def _row(run: Run) -> str:
    cpu = _cell(run.cpu, ".3f") if run.finished else f"({run.note})"
    cells = [
        str(run.queues),
        run.engine,
        _cell(run.states),
        _cell(run.transitions),
        cpu,
        _cell(run.wall, ".3f"),
        _cell(run.rate),
        _cell(run.peak_mib, ",.1f"),
        _cell(run.bytes_per_state),
        _cell(run.growth),
        _cell(run.setup, ".2f"),
        f"{run.load:.1f}",
        run.note if run.finished else "",
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| queues | engine | states | transitions | search CPU (s) | wall (s) | states per CPU s | peak RSS (MiB) "
    "| bytes/state (peak) | growth bytes/state | build (s) | load | notes |\n"
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def _share(whole: float | None, part: float | None) -> str:
    return f"{(whole - part) / whole:.0%}" if whole and part else "-"


def _tools(folder: Path) -> tuple[Path, Path, float]:
    """bench/peak.c and bench/cfloor.c built: (peak, cfloor, cfloor's build seconds)."""
    from cfloor import CFLAGS, build, compiler

    peak = folder / "peak"
    subprocess.run([compiler() or "cc", *CFLAGS, "-o", str(peak), str(HERE / "peak.c")], check=True)
    floor, seconds = build(folder)
    return peak, floor, seconds


def main(concrete=CONCRETE, spin_queues=CONCRETE, reduced=REDUCED, argv_text: str = "") -> int:
    from virtio_notifier_spec.scale.spin import available, best_cflags
    from virtio_notifier_spec.spec.load import load_spec

    if not available():
        print("spin or cc is missing: run `make deps`", file=sys.stderr)
        return 2
    spin_version = subprocess.run(["spin", "-V"], capture_output=True, text=True).stdout.strip()
    began_load = os.getloadavg()
    runs: dict[tuple[str, int], Run] = {}
    lines = [HEADER]
    print(HEADER, flush=True)
    stopped: set[str] = set()

    def record(run: Run) -> Run:
        runs[(run.engine, run.queues)] = run
        lines.append(_row(run))
        print(lines[-1], flush=True)
        if not run.finished:
            stopped.add(run.engine)
        return run

    tools = tempfile.TemporaryDirectory()
    peak, floor, floor_build = _tools(Path(tools.name))
    variants = [
        ("SPIN, no invariants", (), False),
        ("SPIN -DCOLLAPSE", ("-DCOLLAPSE",), True),
        ("SPIN -DHC4 (lossy)", ("-DHC4",), True),
    ]
    try:
        for n in concrete:
            packed = record(_child("packed", n, 1))
            record(_floor(n, floor, floor_build, packed))
            record(_child("packed", n, 2))
            if "general" not in stopped:
                record(_child("general", n))
            if n in spin_queues:
                states = packed.states if packed.finished else None
                record(_spin("SPIN", n, states, peak))
                for label, extra, invariants in variants if n <= VARIANT_QUEUES else ():
                    record(_spin(label, n, states, peak, extra, invariants))
        reduced_lines = [HEADER]
        lines_before = len(lines)
        for n in reduced:
            for engine in ("orbits", "support"):
                if engine not in stopped:
                    record(_child(engine, n))
        reduced_lines += lines[lines_before:]
        del lines[lines_before:]
    finally:
        tools.cleanup()

    def get(engine: str, n: int) -> Run | None:
        run = runs.get((engine, n))
        return run if run is not None and run.finished else None

    ratios = [
        "| queues | states agree | packed / C floor (CPU) | SPIN / packed (CPU) "
        "| SPIN's invariants, share of pan's CPU | packed peak / SPIN's peak | general / packed (CPU) "
        "| 1 thread / 2 threads (wall) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n in concrete:
        names = ("packed, 1 thread", "packed, 2 threads", "general", "SPIN", "SPIN, no invariants", "C floor")
        packed, two, general, spin, bare, floor_run = (get(e, n) for e in names)
        agree = "-"
        if packed and spin:
            agree = "yes" if spin.states == packed.states + SPIN_OFFSET else f"NO ({spin.states} vs {packed.states}+1)"
        ratios.append(
            f"| {n} | {agree} | {_ratio(packed and packed.cpu, floor_run and floor_run.cpu)} "
            f"| {_ratio(spin and spin.cpu, packed and packed.cpu)} "
            f"| {_share(spin and spin.cpu, bare and bare.cpu)} "
            f"| {_ratio(packed and packed.peak_mib, spin and spin.peak_mib)} "
            f"| {_ratio(general and general.cpu, packed and packed.cpu)} "
            f"| {_ratio(packed and packed.wall, two and two.wall)} |"
        )
    print("\n".join(ratios))
    failures = sum(1 for run in runs.values() if run.finished and not run.ok)
    failures += sum("NO" in line for line in ratios)
    end_load = os.getloadavg()
    flags = " ".join(best_cflags(load_spec("resolved"), max(concrete)))
    text = "\n".join(
        [
            "# The engines against SPIN and a C floor, side by side",
            "",
            "`make bench` (bench/scale.py) writes this file; its docstring says what each column",
            "measures. Variant `resolved`, both values of the limit flag; every property holds at",
            "every size. Each search ran in a fresh child process.",
            "",
            f"Machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
            f"Linux {platform.release()}, Python {platform.python_version()}, NumPy {_numpy_version()}, "
            f"{spin_version}; pan compiled with `{flags}` (VECTORSZ sized per queue count). "
            f"Load average (1, 5, 15 min) {_loads(began_load)} when the run began and {_loads(end_load)} when "
            "it ended; the `load` column is the 1-minute average as each search began. The machine is",
            "shared: a busy moment slows the clock more than the CPU time, and both somewhat (caches and",
            "memory bandwidth are shared too), so compare rows of one run, and rerun when it is quiet.",
            "",
            f"Run as `python bench/scale.py{argv_text}`. Caps (wall clock): "
            f"{', '.join(f'{k} {v:g} s' for k, v in CAPS.items())}; a stopped search is shown with",
            f"its cap and no ratio. SPIN's variants (no invariants, COLLAPSE, HC4) run up to {VARIANT_QUEUES} queues.",
            "",
            "## Every concrete state",
            "",
            "SPIN stores one state more than we do: `init` before its atomic start. Transitions",
            "likewise differ by SPIN's start-up steps. Peak RSS is every process's own peak (ours",
            "and the C floor's VmHWM; pan's ru_maxrss as its 1 MiB launcher bench/peak.c reads it, never",
            "Python's, which Linux would carry across exec): ours",
            "includes the interpreter, NumPy and the loaded table (about 70 MiB before any search),",
            "which is why small searches cost us more bytes per state than SPIN; `growth bytes/state`",
            "is ours alone, the resident set grown during the search over the states stored.",
            "",
            *lines,
            "",
            "## Ratios, where both sides finished",
            "",
            "CPU seconds of one run. The Promela export asserts every invariant after every transition",
            "(SPIN has no hook that runs on a newly stored state only, which is where our engines check",
            "them); `SPIN's invariants` is the share of pan's CPU time those assertions take (SPIN",
            "against SPIN on an export without them). SPIN's breadth-first mode",
            "(-DBFS) cannot compile this export (pan refuses `hidden` variables with it).",
            "",
            *ratios,
            "",
            "## Reduced by queue symmetry",
            "",
            "`orbits` stores one state per orbit of the queue permutations; `support` stores (device,",
            "classes of queues present) and is exact for every N at or above its cutoff.",
            "",
            *reduced_lines,
            "",
        ]
    )
    (HERE / "results.md").write_text(text)
    print(f"wrote {HERE / 'results.md'}")
    return 1 if failures else 0


def _loads(loads: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.1f}" for x in loads)


def _numpy_version() -> str:
    import numpy

    return numpy.__version__


def _counts(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        one(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=_counts, default=CONCRETE, help="unreduced searches (default 4,6,8,10)")
    parser.add_argument("--spin-queues", type=_counts, default=None, help="SPIN's (default: --queues)")
    parser.add_argument("--reduced", type=_counts, default=REDUCED, help="orbits and support")
    parser.add_argument("--quick", action="store_true", help="3 and 4 queues, reduced 4 and 12: a try")
    options = parser.parse_args()
    if options.quick:
        options.queues, options.reduced = (3, 4), (4, 12)
    shown = "" if len(sys.argv) == 1 else " " + " ".join(sys.argv[1:])
    spin = options.spin_queues if options.spin_queues is not None else options.queues
    sys.exit(main(options.queues, spin, options.reduced, shown))
