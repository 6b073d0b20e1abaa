"""Benchmark of `oracle check`: events per second and memory on long traces.

Run by `make bench-oracle`; writes bench/oracle.md. Traces are random walks
of the `resolved` table (2 queues), written once to a temporary directory:
one with events only, one where every line carries the full observation
(every variable of every queue and `handled`). Each check runs in a fresh
process, so its peak resident memory is its own; the same check on a trace
ten times shorter shows that memory does not grow with the trace.

    python bench/oracle.py [--events 10000000] [--observed-events 2000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.oracle.observation import KICK_EVENT, full_observation
from virtio_notifier_spec.oracle.tracefile import Header, dumps, record_json
from virtio_notifier_spec.spec.load import load_spec

# Peak memory is VmHWM, this process's own high-water mark: ru_maxrss would
# count the parent's memory too, which Linux carries across fork and exec.
PEAK = r"""
def peak_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

CHILD = (
    PEAK
    + r"""
import json, sys, time
from virtio_notifier_spec.oracle.conformance import check_trace
began = time.perf_counter()
with open(sys.argv[1], "rb") as stream:
    verdict = check_trace(stream, file=sys.argv[1])
seconds = time.perf_counter() - began
print(json.dumps({"ok": verdict.ok, "events": verdict.events, "seconds": seconds, "maxrss_kib": peak_kib()}))
"""
)


def write_walk(path: Path, events: int, queues: int, observed: bool, seed: int, meta: bool = False) -> None:
    """A random walk of the table, memoised by (state, event) like the checker."""
    spec = load_spec("resolved")
    machine = Machine(spec, queues)
    rng = random.Random(seed)
    state = next(s for s in machine.initial_states() if s.device[0] is False)
    enabled_memo: dict = {}
    step_memo: dict = {}
    with open(path, "wb") as out:
        out.write(dumps(Header("resolved", queues, False).to_json()) + b"\n")
        chunk = []
        for number in range(events):
            enabled = enabled_memo.get(state)
            if enabled is None:
                enabled = [i for i in machine.instances if machine.enabled(state, i)]
                enabled_memo[state] = enabled
            inst = enabled[int(rng.random() * len(enabled))]
            hit = step_memo.get((state, inst.id))
            if hit is None:
                post = machine.step(state, inst).choices[0].post
                kicked = inst.target if inst.event.name == KICK_EVENT else None
                obs = full_observation(spec, state, post, kicked) if observed else None
                hit = (post, dumps(record_json(inst, obs)) + b"\n")
                step_memo[(state, inst.id)] = hit
            state, line = hit
            if meta:  # a sequence number makes every line unique: the memo cannot help
                line = line[:-2] + b',"meta":{"seq":%d}}\n' % number
            chunk.append(line)
            if len(chunk) == 100_000:
                out.write(b"".join(chunk))
                chunk.clear()
        out.write(b"".join(chunk))


BASELINE = (
    PEAK
    + r"""
import json
from virtio_notifier_spec.oracle.conformance import check_trace  # noqa: F401
print(json.dumps({"maxrss_kib": peak_kib()}))
"""
)


def baseline_kib() -> int:
    """Peak memory of a process that only imports the checker."""
    done = subprocess.run([sys.executable, "-c", BASELINE], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["maxrss_kib"]


def measure(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--observed-events", type=int, default=2_000_000)
    parser.add_argument("--queues", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).with_name("oracle.md")))
    args = parser.parse_args()
    rows = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        plan = [
            ("events only", args.events // 10, False),
            ("events only", args.events, False),
            ("full observation", args.observed_events // 10, True),
            ("full observation", args.observed_events, True),
            ("full observation, every line unique (meta)", args.observed_events // 10, True),
            ("full observation, every line unique (meta)", args.observed_events, True),
        ]
        for label, count, observed in plan:
            path = Path(tmp) / f"walk-{count}-{observed}.jsonl"
            t0 = time.perf_counter()
            write_walk(path, count, args.queues, observed, seed=1, meta="unique" in label)
            wrote = time.perf_counter() - t0
            result = measure(path)
            assert result["ok"] and result["events"] == count, result
            rows.append((label, count, path.stat().st_size, result, wrote))
            print(
                f"{label}: {count:,} events, {result['events'] / result['seconds']:,.0f} events/s, "
                f"max RSS {result['maxrss_kib'] / 1024:.0f} MiB",
                file=sys.stderr,
            )
            path.unlink()
    try:
        import orjson  # noqa: F401

        parser_name = "orjson"
    except ImportError:
        parser_name = "json (orjson missing)"
    lines = [
        "# `oracle check` throughput",
        "",
        "Written by `make bench-oracle` (bench/oracle.py). Random walks of `resolved`, "
        f"{args.queues} queues, seed 1, each checked in a fresh process. "
        f"Python {platform.python_version()}, {parser_name}, {platform.machine()}.",
        "",
        f"Peak RSS of a process that only imports the checker: {baseline_kib() / 1024:.0f} MiB. "
        f"Load average when the run began: {load:.1f} ({os.cpu_count()} CPUs): a busy machine slows the rates.",
        "",
        "| trace | events | size (MB) | seconds | events/s | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, count, size, result, _ in rows:
        rate = result["events"] / result["seconds"]
        lines.append(
            f"| {label} | {count:,} | {size / 1e6:,.0f} | {result['seconds']:.2f} | "
            f"{rate:,.0f} | {result['maxrss_kib'] / 1024:.0f} |"
        )
    lines += [
        "",
        "The goal is 500,000 events per second. Each (state set, line) pair is judged once and",
        "remembered, so the hot loop is a file read and one dictionary look-up per line; memory is",
        "bounded by the memo's limit (100,000 pairs), not by the trace: compare the short and long",
        "runs. A trace whose lines are all different (a `meta` field with a timestamp or a sequence",
        "number) defeats the raw-line memo: each line is then parsed (orjson), stripped of `meta`",
        "and looked up in its canonical form, which is the slower last two rows, below the goal.",
        "An implementation that wants the fast path writes its per-line extras elsewhere.",
        "Traces are read from the page cache (written just before); a cold disk adds its read time.",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
