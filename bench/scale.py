"""Side by side: this project's checker and SPIN on the same machine, `resolved`.

For each queue count: wall time and peak memory of `explore(symmetry=True)`
(in a child process, start-up included) and of SPIN (generate, compile and
run pan with -DSAFETY, on the Promela model that scale/promela.py exports),
each capped at 60 s. Prints a table and writes bench/results.md. Run it with
`make bench`; nothing here is a test.

State counts: SPIN stores every concrete state plus one (SPIN_OFFSET). Our
orbit search stores one state per orbit of the queue permutations and
reports how many concrete states they stand for (the sum of the orbit sizes,
N!/prod(count!)): that number must equal SPIN's minus one. Above
ORBIT_LIMIT queues the checker uses the support abstraction (exact for
every N at or above its cutoff): its state count is not a count of
concrete states, so the orbit search also runs, for the comparison only,
while it takes under the cap.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (4, 8, 10, 12, 16, 64, 256, 1024)
CAP = 60.0
ORBIT_COMPARISON_UP_TO = 16
SPIN_ALWAYS_UP_TO = 16  # SPIN runs at every size up to this; above it, only until its first stop
HERE = Path(__file__).resolve().parent


def _child(argv: list[str], timeout: float) -> tuple[dict | None, float, int]:
    """Run a child, return (its JSON line or None, wall seconds, peak KiB)."""
    began = time.monotonic()
    with tempfile.TemporaryFile() as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - began > timeout:
                proc.kill()
                _, _, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return None, time.monotonic() - began, usage.ru_maxrss
            time.sleep(0.005)
        seconds = time.monotonic() - began
        sink.seek(0)
        text = sink.read().decode()
    return (json.loads(text) if proc.returncode == 0 and text.strip() else None), seconds, usage.ru_maxrss


def one(variant: str, queues: int, mode: str) -> None:
    """The child: explore and print one JSON line."""
    from virtio_notifier_spec.scale.search import explore
    from virtio_notifier_spec.spec.load import load_spec

    symmetry = True if mode == "auto" else mode
    result = explore(load_spec(variant), queues, symmetry=symmetry)
    print(
        json.dumps(
            {
                "ok": result.ok,
                "states": result.states,
                "reduction": result.reduction,
                "concrete": result.concrete_states,
                "cutoff": result.cutoff,
                "failing": sorted(result.counterexamples),
            }
        )
    )


def _ours(queues: int, mode: str) -> tuple[dict | None, float, int]:
    return _child([sys.executable, str(Path(__file__)), "--one", "resolved", str(queues), mode], CAP)


def _spin(queues: int):
    from virtio_notifier_spec.scale.promela import to_promela
    from virtio_notifier_spec.scale.spin import run_spin
    from virtio_notifier_spec.spec.load import load_spec

    with tempfile.TemporaryDirectory() as work:
        return run_spin(to_promela(load_spec("resolved"), queues), Path(work), timeout=CAP)


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.0f}"


def main() -> int:
    from virtio_notifier_spec.scale.promela import SPIN_OFFSET
    from virtio_notifier_spec.scale.spin import available

    if not available():
        print("spin or cc is missing: run `make deps`", file=sys.stderr)
        return 2
    spin_version = subprocess.run(["spin", "-V"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0]  # other work on the machine slows both checkers alike
    header = (
        "| queues | ours (s) | ours peak (MiB) | ours states | reduction | concrete states (ours) "
        "| SPIN (s) | of which pan's search (s) | SPIN peak (MiB) | SPIN states stored | SPIN / ours (time) "
        "| counts agree |"
    )
    rows = [header, "|" + "---|" * 12]
    spin_stopped: int | None = None
    failures = 0
    for n in SIZES:
        ours, ours_s, ours_kib = _ours(n, "auto")
        concrete = ours.get("concrete") if ours else None
        if ours and concrete is None and n <= ORBIT_COMPARISON_UP_TO:
            orbit, _, _ = _ours(n, "orbits")
            concrete = orbit["concrete"] if orbit else None
        if spin_stopped is None or n <= SPIN_ALWAYS_UP_TO:
            spin = _spin(n)
            if not spin.finished and spin_stopped is None:
                spin_stopped = n
            spin_cells = [
                f"{spin.seconds:.2f}" + ("" if spin.finished else f" ({spin.reason})"),
                f"{spin.search_seconds:.2f}" if spin.search_seconds is not None else "-",
                _mib(spin.peak_kib),
                f"{spin.states:,}" if spin.states else "-",
            ]
            spin_seconds = spin.seconds
            spin_states = spin.states if spin.finished else None
        else:
            spin_cells = [f"not run: stopped at {spin_stopped} queues", "-", "-", "-"]
            spin_seconds, spin_states = None, None
        if ours is None:
            ours_cells = [f"{ours_s:.2f} (stopped)", _mib(ours_kib), "-", "-"]
            ratio = "-"
        else:
            ours_cells = [
                f"{ours_s:.2f}",
                _mib(ours_kib),
                f"{ours['states']:,}",
                ours["reduction"] + (f" (cutoff {ours['cutoff']})" if ours.get("cutoff") else ""),
            ]
            if not ours["ok"]:
                failures += 1
            ratio = f"{spin_seconds / ours_s:.1f}x" if spin_seconds else "-"
            if spin_seconds and spin_states is None:
                ratio = f"> {CAP / ours_s:.0f}x"
        if spin_states is not None and concrete is not None:
            agree = "yes" if spin_states == concrete + SPIN_OFFSET else f"NO ({spin_states} vs {concrete}+1)"
            failures += agree != "yes"
        else:
            agree = "-"
        cells = [str(n), *ours_cells, f"{concrete:,}" if concrete else "-", *spin_cells, ratio, agree]
        rows.append("| " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
    text = "\n".join(
        [
            "# The checker against SPIN, side by side",
            "",
            "`make bench` (bench/scale.py) writes this file. Variant `resolved`, both values of the limit",
            "flag; every property of the table holds at every size. Times are wall clock including start-up",
            "(Python's import for ours; spin -a, cc and pan for SPIN), peak memory is the largest child's",
            f"resident set. Each run is capped at {CAP:g} s. SPIN runs at every size up to {SPIN_ALWAYS_UP_TO} queues;",
            "above that, not after its first stop (the model only grows).",
            "",
            "`ours states` counts what the checker stored: orbits of the queue permutations (`orbits`) or",
            "(device, classes of queues present) for the support abstraction (`support`, exact for every N",
            "at or above the cutoff). `concrete states (ours)` is the number of concrete states the orbits",
            "stand for (sum of N!/prod(count!)), from the orbit search, shown up to "
            f"{ORBIT_COMPARISON_UP_TO} queues; SPIN stores that number plus {SPIN_OFFSET}: the state of",
            "`init` before its atomic start (scale/promela.py).",
            "",
            f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
            f"{spin_version}, cc flags of scale/spin.py; load average {load:.1f} when the run began.",
            "",
            *rows,
            "",
        ]
    )
    (HERE / "results.md").write_text(text)
    print(f"wrote {HERE / 'results.md'}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        one(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(main())
