"""Several devices on one host, the system engines side by side: `make bench-systems`.

In one run, each search in a fresh child process (so that one run's memory
cannot help or hurt another):

- ``four_devices.toml`` (spec/configs/): the system engine (scale/system.py)
  and the packed system engine (scale/packed_system.py), unreduced and with
  one state per orbit of the identical devices; the ratio of their times;
- ``ten_devices.toml``: the packed engine, unreduced (its time and memory)
  and reduced; the system engine, stopped at its cap;
- Dask (scale/cluster.py): the reduced ten-device search on one core, then
  on a local cluster of 1 and 2 worker processes (the cluster's start-up
  timed apart).

Seconds are wall clock, and the child's own CPU time beside them (with Dask
the workers' CPU is not counted): in the child, after imports and after
loading the configuration and its table. The packed engine's ``build`` (the
system's records, the refusal checks, the device tables: the cold start)
and ``search`` are timed apart, and ``total`` is both: the ratios are taken
on totals, nothing left out of the timer. The system engine builds what it
needs inside its search (its total). The four-device runs are repeated in
fresh processes (``REPEATS``; a run of a few hundredths of a second moves
with the load) and the run of median total CPU is shown, with the range.
Memory: the child's own peak resident
set (VmHWM of /proc/self/status, not ru_maxrss, which on Linux can carry a
parent's high-water mark), and its growth over the search (peak minus the
resident set just before it) per state stored. Every row carries the
1-minute load average when it began: the machine has two cores shared with
other work, so compare rows of similar load. Writes bench/systems.md;
nothing here is a test.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parent / "spec" / "configs"
CAPS = {"general": 600.0, "packed": 1800.0}
GENERAL_TEN_CAP = 120.0
#: Fresh processes per four-device search: (system engine, packed engine).
REPEATS = {"general": 3, "packed": 7}


@dataclass
class Run:
    config: str
    engine: str
    finished: bool
    states: int | None = None
    transitions: int | None = None
    concrete_states: int | None = None
    seconds: float | None = None  # the total: build and search
    cpu: float | None = None
    build: float | None = None
    build_cpu: float | None = None
    setup: float | None = None
    peak_mib: float | None = None
    bytes_per_state: float | None = None
    load: float = 0.0
    note: str = ""
    ok: bool = True


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0  # pragma: no cover


def one(config_name: str, engine: str, reduced: bool, workers: int) -> None:
    """The child: one search, one JSON line."""
    from virtio_notifier_spec.scale.config import load_config
    from virtio_notifier_spec.scale.system_search import explore_config
    from virtio_notifier_spec.spec.load import load_spec

    config = load_config(CONFIGS / config_name)
    spec = load_spec(config.table)
    cluster, setup = None, None
    if workers:
        from virtio_notifier_spec.scale.cluster import Cluster

        began = time.perf_counter()
        cluster = Cluster(workers=workers).__enter__()
        setup = time.perf_counter() - began
    build = build_cpu = None
    try:
        start_kib = _status_kib("VmRSS")
        began, cpu = time.perf_counter(), time.process_time()
        if engine == "packed":  # explore_config's packed path, its build timed apart
            from virtio_notifier_spec.scale.device_symmetry import device_symmetry_refusal
            from virtio_notifier_spec.scale.device_tables import device_tables
            from virtio_notifier_spec.scale.packed_system import explore_system_packed
            from virtio_notifier_spec.scale.system import System

            system = System(config, spec)
            if reduced:
                assert device_symmetry_refusal(config, [m.spec for m in system.machines]) is None
            tables = device_tables(system)
            build, build_cpu = time.perf_counter() - began, time.process_time() - cpu
            result = explore_system_packed(
                config, system=system, tables=tables, device_symmetry=reduced, cluster=cluster
            )
        else:
            result = explore_config(config, spec=spec, engine=engine, device_symmetry=reduced, cluster=cluster)
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    finally:
        if cluster is not None:
            cluster.close()
    print(
        json.dumps(
            {
                "states": result.states,
                "transitions": result.transitions,
                "concrete_states": result.concrete_states,
                "seconds": seconds,
                "cpu": cpu,
                "build": build,
                "build_cpu": build_cpu,
                "setup": setup,
                "start_kib": start_kib,
                "peak_kib": _status_kib("VmHWM"),
                "ok": result.ok,
                "engine": result.engine,
            }
        )
    )


def _child(config: str, engine: str, reduced: bool = False, workers: int = 0, cap: float | None = None) -> Run:
    load = os.getloadavg()[0]
    label = engine + (", identical devices reduced" if reduced else "")
    if workers:
        label += f", Dask: {workers} worker{'s' if workers > 1 else ''}"
    argv = [sys.executable, str(Path(__file__)), "--one", config, engine, str(int(reduced)), str(workers)]
    cap = cap or CAPS[engine]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=cap, check=True).stdout
    except subprocess.TimeoutExpired:
        return Run(config, label, False, load=load, note=f"stopped at {cap:g} s")
    except subprocess.CalledProcessError as exc:
        return Run(config, label, False, load=load, note=f"failed: {exc.stderr.strip()[-300:]}")
    data = json.loads(out.strip().splitlines()[-1])
    grown = max(data["peak_kib"] - data["start_kib"], 0) * 1024
    return Run(
        config,
        label,
        True,
        data["states"],
        data["transitions"],
        data["concrete_states"],
        data["seconds"],
        data["cpu"],
        data["build"],
        data["build_cpu"],
        data["setup"],
        data["peak_kib"] / 1024,
        grown / data["states"],
        load,
        ok=data["ok"],
    )


def _median(runs: list[Run]) -> Run:
    """The run of median total CPU time, its note giving the range over all."""
    done = sorted((r for r in runs if r.finished), key=lambda r: r.cpu)
    if len(done) < len(runs):
        return next(r for r in runs if not r.finished)
    chosen = done[len(done) // 2]
    if len(done) > 1:
        chosen.note = (
            f"median of {len(done)} fresh processes; total CPU {done[0].cpu:.3f}-{done[-1].cpu:.3f} s, "
            f"wall {min(r.seconds for r in done):.3f}-{max(r.seconds for r in done):.3f} s"
        )
    return chosen


def _cell(value, form: str = ",.0f") -> str:
    return "-" if value is None else format(value, form)


def _row(run: Run) -> str:
    seconds = _cell(run.seconds, ".3f") if run.finished else f"({run.note})"
    rate = run.states / run.cpu if run.finished and run.cpu else None
    search = run.seconds - run.build if run.finished and run.build is not None else None
    search_cpu = run.cpu - run.build_cpu if run.finished and run.build_cpu is not None else None
    cells = [
        run.config,
        run.engine,
        _cell(run.states),
        _cell(run.transitions),
        _cell(run.concrete_states),
        _cell(run.build, ".3f"),
        _cell(run.build_cpu, ".3f"),
        _cell(search, ".3f"),
        _cell(search_cpu, ".3f"),
        seconds,
        _cell(run.cpu, ".3f"),
        _cell(rate),
        _cell(run.peak_mib),
        _cell(run.bytes_per_state),
        _cell(run.setup, ".2f"),
        f"{run.load:.1f}",
        ("" if run.ok else "a check fails; ") + (run.note if run.finished else ""),
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| configuration | engine | states | transitions | concrete states | build (s) | build CPU (s) "
    "| search (s) | search CPU (s) | total (s) | total CPU (s) | states per CPU s "
    "| peak RSS (MiB) | bytes/state | cluster start (s) | load | notes |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


def _cpu_ratio(a: Run, b: Run) -> str:
    return f"{a.cpu / b.cpu:,.0f}x" if a.finished and b.finished and b.cpu else "-"


def _share(run: Run) -> str:
    return f"{run.build_cpu / run.cpu:.0%}" if run.finished and run.cpu and run.build_cpu is not None else "-"


def _warm_ratio(a: Run, b: Run) -> str:
    if not (a.finished and b.finished and b.build_cpu is not None and b.cpu > b.build_cpu):
        return "-"
    return f"{a.cpu / (b.cpu - b.build_cpu):,.0f}x"


def _ratio(a: Run, b: Run) -> str:
    return f"{a.seconds / b.seconds:,.0f}x" if a.finished and b.finished and b.seconds else "-"


def main() -> int:
    began_load = os.getloadavg()
    four_general = _median([_child("four_devices.toml", "general") for _ in range(REPEATS["general"])])
    four_packed = _median([_child("four_devices.toml", "packed") for _ in range(REPEATS["packed"])])
    four_reduced = _child("four_devices.toml", "packed", reduced=True)
    ten_packed = _child("ten_devices.toml", "packed")
    ten_reduced = _child("ten_devices.toml", "packed", reduced=True)
    ten_general = _child("ten_devices.toml", "general", cap=GENERAL_TEN_CAP)
    dask = [_child("ten_devices.toml", "packed", reduced=True, workers=n) for n in (1, 2)]
    runs = [four_general, four_packed, four_reduced, ten_packed, ten_reduced, ten_general, *dask]
    ended_load = os.getloadavg()
    agree = (
        four_general.finished
        and four_packed.finished
        and (four_general.states, four_general.transitions) == (four_packed.states, four_packed.transitions)
        and (four_reduced.concrete_states == four_packed.states)
        and (ten_reduced.concrete_states == ten_packed.states)
        and all(d.finished and d.states == ten_reduced.states for d in dask)
    )
    lines = [
        "# Several devices: the system engines side by side",
        "",
        "`make bench-systems` (bench/systems.py) writes this file; its docstring says what each column",
        "measures. Table `resolved`; every check holds in every run. Each search ran in a fresh child",
        "process.",
        "",
        f"Machine: {os.cpu_count()} cores ({platform.machine()}), Linux {platform.release()}, Python "
        f"{platform.python_version()}. Load average (1, 5, 15 min) {', '.join(f'{x:.1f}' for x in began_load)} "
        f"when the run began and {', '.join(f'{x:.1f}' for x in ended_load)} when it ended; the `load` column",
        "is the 1-minute average as each search began. The machine is shared: a busy moment slows a run.",
        "",
        HEADER,
        *(_row(run) for run in runs),
        "",
        "## Ratios",
        "",
        f"- four devices, the system engine over the packed engine, totals (the packed engine's build "
        f"included): **{_cpu_ratio(four_general, four_packed)} in CPU time** (the aim: 100x; "
        f"{_cell(four_general.cpu, '.2f')} s against {_cell(four_packed.cpu, '.3f')} s), "
        f"{_ratio(four_general, four_packed)} wall clock "
        f"({_cell(four_general.seconds, '.2f')} s against {_cell(four_packed.seconds, '.3f')} s). The packed "
        f"engine's build is {_share(four_packed)} of its total CPU; its search alone, warm, would give "
        f"{_warm_ratio(four_general, four_packed)} (CPU; not the figure claimed).",
        f"- ten devices, the packed engine: {_cell(ten_packed.states)} states and "
        f"{_cell(ten_packed.transitions)} transitions in {_cell(ten_packed.seconds, '.0f')} s "
        f"({_cell(ten_packed.cpu, '.0f')} s of CPU, build included), peak resident set "
        f"{_cell(ten_packed.peak_mib)} MiB. The system engine "
        + (
            f"did {_cell(ten_general.states)} states in {_cell(ten_general.seconds, '.0f')} s."
            if ten_general.finished
            else f"was stopped at its cap of {GENERAL_TEN_CAP:g} s."
        ),
        f"- ten devices, one state per orbit of the identical devices: {_cell(ten_reduced.states)} orbits "
        f"for the {_cell(ten_reduced.concrete_states)} states, {_ratio(ten_packed, ten_reduced)} faster than "
        "unreduced (wall clock; in CPU time "
        f"{_cpu_ratio(ten_packed, ten_reduced)}).",
        "- Dask, the reduced ten-device search: one core "
        f"{_cell(ten_reduced.seconds, '.1f')} s, 1 worker {_cell(dask[0].seconds, '.1f')} s, 2 workers "
        f"{_cell(dask[1].seconds, '.1f')} s (cluster start-up apart). The same states on every one: "
        f"{'yes' if all(d.states == ten_reduced.states for d in dask) else 'NO'}. On two shared cores the "
        "workers compete with the driver and with each other, and every chunk's candidates cross a process "
        "boundary: this measures the overhead of the partition, not a speed-up.",
        "",
        f"Counts agree across engines and reductions: {'yes' if agree else 'NO'}.",
        "",
    ]
    (HERE / "systems.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if agree else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        one(sys.argv[2], sys.argv[3], sys.argv[4] == "1", int(sys.argv[5]))
    else:
        sys.exit(main())
