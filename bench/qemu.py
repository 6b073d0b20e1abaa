"""Benchmark of a real QEMU under KVM as the implementation under test.

Run by `make bench-qemu`; writes bench/qemu.md. Measures, on this machine:
the boot (QEMU started, qboot, the guest's banner, BARs assigned), a
ten-event test after boot (qemu/smoke.py's sequence, through the oracle's
session: the device brought back to the table's start, then the events),
200 tests of the oracle's suite against one device (legacy virtio-blk, two
queues; no shrinking), and the whole matrix as `make qemu` runs it. The
goals: a ten-event test under 1 s, 200 tests under 60 s, the matrix under
5 minutes on 2 cores.

    python bench/qemu.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.oracle.drive import drive
from virtio_notifier_spec.oracle.sequence import parse_sequence
from virtio_notifier_spec.qemu.devices import device
from virtio_notifier_spec.qemu.host import missing, tools
from virtio_notifier_spec.qemu.implementation import QemuImplementation
from virtio_notifier_spec.qemu.smoke import TEN_EVENTS
from virtio_notifier_spec.qemu.suite import causable_suite
from virtio_notifier_spec.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, no matrix")
    args = parser.parse_args()
    absent = missing(vhost=True)
    if absent:
        print("cannot run QEMU here: " + "; ".join(absent), file=sys.stderr)
        return 2
    t = tools(vhost=True)
    spec = load_spec("resolved", env="qemu")
    dev = device("blk-legacy-2")
    rows = []
    began_load = load()

    boots = []
    for _ in range(3 if args.quick else 7):
        impl = QemuImplementation(spec, dev, t)
        start = time.monotonic()
        impl.start(2, False)
        boots.append(time.monotonic() - start)
        impl.shutdown()
    rows.append(("boot (QEMU, qboot, the guest's banner, BARs)", statistics.median(boots), f"median of {len(boots)}"))

    requests = [(i.event.name, dict(i.args)) for i in parse_sequence(Machine(spec, 2), TEN_EVENTS)[1]]
    impl = QemuImplementation(spec, dev, t)
    try:
        list(impl.session(2, False, requests))  # the boot
        impl.timings.clear()
        for _ in range(5 if args.quick else 30):
            list(impl.session(2, False, requests))
        tens = list(impl.timings)
    finally:
        impl.shutdown()
    rows.append(
        (
            "a ten-event test after boot (goal < 1 s)",
            statistics.median(tens),
            f"median of {len(tens)}, max {max(tens):.3f} s",
        )
    )

    impl = QemuImplementation(spec, dev, t, stop_on_machine_failure=True)
    try:
        walks = 60
        suite = causable_suite(spec, dev, impl, walks=walks).suite
        while len(suite.cases) < 200:  # random walks add tests until there are 200
            walks += 20
            suite = causable_suite(spec, dev, impl, walks=walks).suite
        cases = suite.cases[:200]
        start = time.monotonic()
        report = drive(spec, impl, replace(suite, cases=cases), max_failures=None, shrink=False)
        two_hundred = time.monotonic() - start
    finally:
        impl.shutdown()
    rows.append(
        (
            f"{len(cases)} tests against one device (goal < 60 s)",
            two_hundred,
            f"{sum(len(c.events) for c in cases)} events, {len(report.failed)} failed (the kick before DRIVER_OK)",
        )
    )

    if not args.quick:
        with tempfile.TemporaryDirectory() as folder:
            start = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "virtio_notifier_spec", "qemu", "--quiet", "--out", f"{folder}/r.md"],
                capture_output=True,
                text=True,
                check=False,
            )
            rows.append(
                ("the whole matrix, as `make qemu` (goal < 5 min)", time.monotonic() - start, f"exit {done.returncode}")
            )

    version = subprocess.run([t.qemu, "--version"], capture_output=True, text=True, check=False).stdout.splitlines()[0]
    lines = [
        "# A real QEMU under KVM: how fast",
        "",
        "Written by `make bench-qemu` (`bench/qemu.py`).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}, {version}. "
        f"Load average at the start {began_load}, at the end {load()}.",
        "",
        "| what | seconds | note |",
        "|---|---:|---|",
        *[f"| {what} | {seconds:.3f} | {note} |" for what, seconds, note in rows],
        "",
    ]
    (ROOT / "bench" / "qemu.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
