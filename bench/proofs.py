"""Benchmark of the Z3 proofs: how long every proof of both variants takes.

Run by `make bench-proofs`; writes bench/proofs.md. The goal is the whole set
(both variants: invariants, step and history properties, hygiene, with the
search that finds `proposal`'s traces) in under 10 s on the project's 2-core
machine. Each variant is proved ``--repeat`` times in this process (the
first also declares Z3's sorts); the median is reported, as CPU time (this
process's, Z3 included: what the proofs cost, whatever else the machine
runs) beside wall time, with the load average as each run began. The
machine's instruction counters are not readable here (``perf stat -e
instructions`` says not supported), so the instructions of the whole set
are counted by valgrind's callgrind instead (``--instructions``, on by
default when valgrind is installed): the proofs' count is a process that
loads both tables and proves them, less one that only loads them, with
``PYTHONHASHSEED=0``. That figure does not move with the load. Then the tables of
``tests/proofs/probes.py``, built to probe the verdicts, once each: the
verdict of the check each probes and how far the search went. With
``--crosscheck N`` it also times the cross-check for 1..N queues and exits 1
if the explorer and Z3 disagree anywhere (``make crosscheck-proofs``), or if
a probe gets a verdict other than its expected one.

    python bench/proofs.py [--repeat 3] [--crosscheck 3] [--out bench/proofs.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import z3

from virtio_notifier_spec.proofs.crosscheck import crosscheck
from virtio_notifier_spec.proofs.prove import prove
from virtio_notifier_spec.spec.load import load_spec

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "proofs")]
from probes import PROBES  # noqa: E402  (the tests' probe tables)

VARIANTS = ("resolved", "proposal")
GOAL_SECONDS = 10.0

COUNTED = """
import sys
from virtio_notifier_spec.proofs.prove import prove
from virtio_notifier_spec.spec.load import load_spec
specs = [load_spec(v) for v in ("resolved", "proposal")]
if sys.argv[1] == "prove":
    for spec in specs:
        prove(spec)
"""


def instructions() -> tuple[int, int] | None:
    """(instructions to load both tables, and to load and prove them), by callgrind."""
    if shutil.which("valgrind") is None:
        return None
    counts = []
    for mode in ("load", "prove"):
        argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", COUNTED, mode]
        done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            return None
        counts.append(int(found.group(1)))
    return counts[0], counts[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--crosscheck", type=int, default=3, metavar="N")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("proofs.md"))
    parser.add_argument("--no-instructions", action="store_true", help="skip callgrind's count (minutes)")
    options = parser.parse_args()

    load = os.getloadavg()[0]
    totals: dict[str, list[float]] = {v: [] for v in VARIANTS}
    walls: dict[str, list[float]] = {v: [] for v in VARIANTS}
    loads: dict[str, list[float]] = {v: [] for v in VARIANTS}
    reports = {}
    for _ in range(options.repeat):
        for variant in VARIANTS:
            spec = load_spec(variant)
            loads[variant].append(os.getloadavg()[0])
            began, cpu = time.perf_counter(), time.process_time()
            reports[variant] = prove(spec)
            totals[variant].append(time.process_time() - cpu)
            walls[variant].append(time.perf_counter() - began)
    whole = sum(statistics.median(totals[v]) for v in VARIANTS)
    disagreements: list[str] = []

    lines = [
        "# Proofs benchmark",
        "",
        "Written by `make bench-proofs` (bench/proofs.py). Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores (load average {load:.1f} at the start), "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"Z3 {z3.get_version_string()}. Median of {options.repeat} runs in one process; CPU seconds",
        "are this process's (Z3 included), wall seconds the clock's; the load is the 1-minute",
        "average as each run began. Each proof's seconds (below) are the prover's wall clock;",
        "the probes and the cross-check are CPU seconds.",
        "",
        "| variant | proofs | proved | CPU s (median) | CPU s, each run | wall s, each run | load, each run |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for variant in VARIANTS:
        report = reports[variant]
        proved = sum(p.proved for p in report.proofs)
        runs = ", ".join(f"{t:.2f}" for t in totals[variant])
        wall = ", ".join(f"{t:.2f}" for t in walls[variant])
        seen = ", ".join(f"{x:.1f}" for x in loads[variant])
        lines.append(
            f"| {variant} | {len(report.proofs)} | {proved} | {statistics.median(totals[variant]):.2f} | {runs} "
            f"| {wall} | {seen} |"
        )
    verdict = "met" if whole < GOAL_SECONDS else "NOT met"
    wall_whole = sum(statistics.median(walls[v]) for v in VARIANTS)
    lines += [
        "",
        f"Whole set: **{whole:.2f} s of CPU** (goal: under {GOAL_SECONDS:.0f} s, {verdict}); "
        f"{wall_whole:.2f} s wall at load {min(min(x) for x in loads.values()):.1f}-"
        f"{max(max(x) for x in loads.values()):.1f}.",
        "",
    ]
    counted = None if options.no_instructions else instructions()
    if counted is not None:
        load_only, proved_too = counted
        lines += [
            f"Instructions (valgrind callgrind, `PYTHONHASHSEED=0`, one run of both variants): "
            f"**{(proved_too - load_only) / 1e9:.2f} billion** for the proofs ({proved_too / 1e9:.2f} billion "
            f"to load and prove, {load_only / 1e9:.2f} billion to load): a count the load does not change.",
            "",
        ]
    lines += [
        "## Each proof (last run)",
        "",
        "| variant | proof | kind | verdict | seconds |",
        "|---|---|---|---|---:|",
    ]
    for variant in VARIANTS:
        for p in reports[variant].proofs:
            lines.append(f"| {variant} | {p.name} | {p.kind} | {p.verdict.value} | {p.seconds:.3f} |")
    lines += [
        "",
        "## Probe tables (tests/proofs/probes.py)",
        "",
        "| probe | check | verdict | expected | search | CPU s | load |",
        "|---|---|---|---|---|---:|---:|",
    ]
    for name, probe in PROBES.items():
        with tempfile.TemporaryDirectory() as folder:
            spec = probe.build(Path(folder))
            then = os.getloadavg()[0]
            began = time.process_time()
            report = prove(spec)
            took = time.process_time() - began
        verdict = report.get(probe.check).label
        if verdict != probe.expected:
            disagreements.append(f"probe {name}: {probe.check} is {verdict}, expected {probe.expected}")
        lines.append(
            f"| {name} | {probe.check} | {verdict} | {probe.expected} | {report.search} | {took:.2f} | {then:.1f} |"
        )
    if options.crosscheck:
        lines += [
            "",
            "## Cross-check with the explorer",
            "",
            "| variant | queues | explorer states | reached by Z3 | closed in Z3 | agree | CPU s | load |",
            "|---|---:|---:|---:|---|---|---:|---:|",
        ]
        for variant in VARIANTS:
            spec = load_spec(variant)
            for n in range(1, options.crosscheck + 1):
                then, began = os.getloadavg()[0], time.process_time()
                c = crosscheck(spec, n)
                took = time.process_time() - began
                disagreements += [f"{variant}, {n} queue(s): {line}" for line in c.disagreements]
                agree = "yes" if c.ok else "NO"
                closed = "yes" if c.closed else "NO"
                lines.append(
                    f"| {variant} | {n} | {c.states:,} | {c.confirmed:,} | {closed} | {agree} "
                    f"| {took:.2f} | {then:.1f} |"
                )
    text = "\n".join(lines) + "\n"
    options.out.write_text(text)
    print(text)
    for line in disagreements:
        print(f"DISAGREE: {line}", file=sys.stderr)
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
