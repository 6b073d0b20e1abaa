"""The engines side by side with SPIN, in one run, on `resolved`: `make bench`.

For each queue count N, each in a fresh child process (so that one run's
memory cannot help or hurt another):

- ``general``: the general explorer (model/explore.py), every concrete state;
- ``packed``: the packed engine (model/packed.py), with 1 thread and with 2;
- ``SPIN``: the Promela export (scale/promela.py) verified by pan compiled at
  SPIN's best exact setting (scale/spin.py ``BEST_CFLAGS``: -O3
  -DNOBOUNDCHECK -DSAFETY) with a hash table sized to the model and a depth
  bound no search can pass (``sized_pan_args``, from the packed engine's
  count). `spin -a` and `cc` are timed in their own column, apart from the
  search;
- ``orbits`` and ``support``: the queue-symmetry reductions (scale/search.py).

Seconds are the search alone (ours: `explore` in the child after imports and
loading the table; SPIN: pan), wall clock. Bytes per state: the growth of the
resident set during the search (ours: peak minus the resident set just before
it) or pan's whole peak resident set, over the states stored. A ratio is
printed only where both sides finished. Every cell of a run carries the
machine's load average when it began, because eight people share this
machine's two cores. Writes bench/results.md; nothing here is a test.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONCRETE = (4, 6, 8, 10)  # unreduced: general, packed, SPIN
REDUCED = (4, 8, 10, 12, 16, 32, 64, 256, 1024)
CAPS = {"general": 90.0, "packed": 600.0, "orbits": 120.0, "support": 120.0, "spin": 2400.0}
SPIN_OFFSET = 1  # SPIN also stores the state of `init` before its atomic start


@dataclass
class Run:
    engine: str
    queues: int
    finished: bool
    states: int | None = None
    transitions: int | None = None
    seconds: float | None = None
    bytes_per_state: float | None = None
    peak_mib: float | None = None
    setup: float | None = None  # SPIN: spin -a plus cc
    load: float = 0.0
    note: str = ""
    ok: bool = True

    @property
    def rate(self) -> float | None:
        return self.states / self.seconds if self.finished and self.seconds and self.states else None


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
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
    start_kib = _rss_kib()
    began = time.perf_counter()
    result = explore(spec, queues, **options)
    seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "states": result.states,
                "transitions": result.transitions,
                "seconds": seconds,
                "start_kib": start_kib,
                "peak_kib": peak_kib,
                "ok": result.ok,
                "reduction": result.reduction,
                "cutoff": result.cutoff,
            }
        )
    )


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
        data["seconds"],
        grown / data["states"],
        data["peak_kib"] / 1024,
        load=load,
        note=note,
        ok=data["ok"],
    )


def _spin(queues: int, states: int | None) -> Run:
    from virtio_notifier_spec.scale.promela import to_promela
    from virtio_notifier_spec.scale.spin import BEST_CFLAGS, PAN_ARGS, run_spin, sized_pan_args
    from virtio_notifier_spec.spec.load import load_spec

    load = os.getloadavg()[0]
    pan_args = sized_pan_args(states + SPIN_OFFSET) if states else PAN_ARGS
    with tempfile.TemporaryDirectory() as work:
        spin = run_spin(to_promela(load_spec("resolved"), queues), Path(work), CAPS["spin"], BEST_CFLAGS, pan_args)
    setup = (spin.generate_seconds or 0) + (spin.compile_seconds or 0)
    peak = spin.search_peak_kib or 0
    note = " ".join(pan_args) + ("" if spin.finished else f"; {spin.reason}")
    return Run(
        "SPIN",
        queues,
        spin.finished,
        spin.states,
        spin.transitions,
        spin.search_seconds,
        peak * 1024 / spin.states if spin.finished and spin.states else None,
        peak / 1024 if spin.finished else None,
        setup,
        load,
        note,
        ok=not spin.violated,
    )


def _cell(value, form: str = ",.0f") -> str:
    return "-" if value is None else format(value, form)


def _row(run: Run) -> str:
    seconds = _cell(run.seconds, ".2f") if run.finished else f"({run.note})"
    cells = [
        str(run.queues),
        run.engine,
        _cell(run.states),
        _cell(run.transitions),
        seconds,
        _cell(run.rate),
        _cell(run.bytes_per_state),
        _cell(run.peak_mib),
        _cell(run.setup, ".2f"),
        f"{run.load:.1f}",
        run.note if run.finished else "",
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| queues | engine | states | transitions | search (s) | states/s | bytes/state | peak RSS (MiB) "
    "| spin -a + cc (s) | load | notes |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a and b else "-"


def main(concrete=CONCRETE, reduced=REDUCED) -> int:
    from virtio_notifier_spec.scale.spin import available

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

    for n in concrete:
        packed = record(_child("packed", n, 1))
        record(_child("packed", n, 2))
        if "general" not in stopped:
            record(_child("general", n))
        record(_spin(n, packed.states if packed.finished else None))
    reduced_lines = [HEADER]
    lines_before = len(lines)
    for n in reduced:
        for engine in ("orbits", "support"):
            if engine not in stopped:
                record(_child(engine, n))
    reduced_lines += lines[lines_before:]
    del lines[lines_before:]

    def get(engine: str, n: int) -> Run | None:
        run = runs.get((engine, n))
        return run if run is not None and run.finished else None

    ratios = [
        "| queues | states agree | SPIN search / packed (1 thread) | packed bytes/state / SPIN's "
        "| general / packed (1 thread) | 1 thread / 2 threads |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for n in concrete:
        packed, two, general, spin = (get(e, n) for e in ("packed, 1 thread", "packed, 2 threads", "general", "SPIN"))
        agree = "-"
        if packed and spin:
            agree = "yes" if spin.states == packed.states + SPIN_OFFSET else f"NO ({spin.states} vs {packed.states}+1)"
        ratios.append(
            f"| {n} | {agree} | {_ratio(spin and spin.seconds, packed and packed.seconds)} "
            f"| {_ratio(packed and packed.bytes_per_state, spin and spin.bytes_per_state)} "
            f"| {_ratio(general and general.seconds, packed and packed.seconds)} "
            f"| {_ratio(packed and packed.seconds, two and two.seconds)} |"
        )
    print("\n".join(ratios))
    failures = sum(1 for run in runs.values() if run.finished and not run.ok)
    failures += sum("NO" in line for line in ratios)
    end_load = os.getloadavg()
    text = "\n".join(
        [
            "# The engines against SPIN, side by side",
            "",
            "`make bench` (bench/scale.py) writes this file; its docstring says what each column",
            "measures. Variant `resolved`, both values of the limit flag; every property holds at",
            "every size. Each search ran in a fresh child process.",
            "",
            f"Machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
            f"Linux {platform.release()}, Python {platform.python_version()}, NumPy {_numpy_version()}, "
            f"{spin_version}; pan compiled with `{' '.join(_best_flags())}`. Load average (1, 5, 15 min) "
            f"{_loads(began_load)} when the run began and {_loads(end_load)} when it ended; the `load`",
            "column is the 1-minute average as each search began. The machine is shared: a busy",
            "moment slows a run, so compare rows with similar load, and rerun when it is quiet.",
            "",
            f"Caps: {', '.join(f'{k} {v:g} s' for k, v in CAPS.items())}. A stopped search is shown with",
            "its cap and no ratio.",
            "",
            "## Every concrete state",
            "",
            "SPIN stores one state more than we do: `init` before its atomic start. Transitions",
            "likewise differ by SPIN's start-up steps.",
            "",
            *lines,
            "",
            "## Ratios, where both sides finished",
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


def _best_flags() -> tuple[str, ...]:
    from virtio_notifier_spec.scale.spin import BEST_CFLAGS

    return BEST_CFLAGS


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        one(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 2 and sys.argv[1] == "--quick":
        sys.exit(main(concrete=(3, 4), reduced=(4, 12)))
    else:
        sys.exit(main())
