"""Benchmark of the liveness checks: the explorer's (every state, and the
reductions `verify` uses) beside SPIN's, on both variants.

Run by `make bench-liveness`; writes bench/liveness.md. For each variant and
queue count: the states and steps of the whole graph, the seconds of the
check on every state, on the reduced graphs (projection and orbits), and of
SPIN (generate, compile and every pan run: the LTL claims with `-a -f`, the
listing and probes for `recoverable`), and whether the three agree. Then the
seconds `verify` spends on liveness (resolved 1-6, proposal 1-4). Exits 1 on
a disagreement.

    python bench/liveness.py [--queues 2] [--out bench/liveness.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from virtio_notifier_spec.model.liveness import check_liveness
from virtio_notifier_spec.scale.liveness import check_every
from virtio_notifier_spec.scale.spin import available, spin_liveness
from virtio_notifier_spec.spec.load import load_spec

VARIANTS = ("resolved", "proposal")
VERIFY_SIZES = {"resolved": range(1, 7), "proposal": range(1, 5)}


def _verdicts(run) -> dict[str, str]:
    return {name: run.verdict(name) for name in run.checks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=2, help="largest queue count compared with SPIN")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("liveness.md"))
    options = parser.parse_args()
    load = os.getloadavg()[0]
    lines = [
        "# Liveness benchmark",
        "",
        "Written by `make bench-liveness` (bench/liveness.py). Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}; load average {load:.1f} when it began. Seconds are wall clock.",
        "",
        "| variant | queues | states | steps | every state (s) | reduced (s) | SPIN (s) | verdicts | agree |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    disagreements = []
    with tempfile.TemporaryDirectory(prefix="bench-liveness-") as work:
        for variant in VARIANTS:
            spec = load_spec(variant)
            for n in range(1, options.queues + 1):
                full = check_liveness(spec, n)
                began = time.perf_counter()
                (reduced,) = check_every(spec, (n,), symmetry="auto")
                reduced_seconds = time.perf_counter() - began
                spin = spin_liveness(spec, n, Path(work) / f"{variant}-{n}") if available() else None
                agree = _verdicts(full) == _verdicts(reduced) and (spin is None or spin.verdicts == _verdicts(full))
                if not agree:
                    disagreements.append(f"{variant} {n}")
                failing = ", ".join(full.failures) or "all hold"
                lines.append(
                    f"| {variant} | {n} | {full.states:,} | {full.edges:,} | {full.seconds:.2f} | "
                    f"{reduced_seconds:.2f} | {f'{spin.seconds:.2f}' if spin else '-'} | {failing} | "
                    f"{'yes' if agree else 'NO'} |"
                )
                print(lines[-1], flush=True)
    began = time.perf_counter()
    for variant in VARIANTS:
        check_every(load_spec(variant), VERIFY_SIZES[variant], symmetry="auto")
    lines += [
        "",
        f"`verify`'s liveness rows (resolved 1-6, proposal 1-4, each property on the graph that decides it): "
        f"{time.perf_counter() - began:.2f} s.",
        "",
    ]
    options.out.write_text("\n".join(lines))
    print(f"wrote {options.out}")
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
