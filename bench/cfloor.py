"""The C floor of the packed engine: its step tables exported, searched by a
plain C breadth-first search (bench/cfloor.c), for `make bench`.

The C search makes the packed engine's search without NumPy and without
checks: the same codes, the same XOR masks by (device, queue) cell, a hash
table for the visited set and, per state, its parent and instance. It counts
the same states and transitions, which :func:`run_floor` asserts against the
engine's counts when given them; its time is the floor an array engine can
approach, not a result of the project.

    python bench/cfloor.py 8        # build, export, search, print the JSON line
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MAGIC = 0x726F6F6C66632D31  # "1-cfloor", little-endian
EVERY_QUEUE = 0xFFFF_FFFF_FFFF_FFFF
CFLAGS = ("-O3", "-march=native")


def compiler() -> str | None:
    return shutil.which("gcc") or shutil.which("cc")


def build(folder: Path) -> tuple[Path, float]:
    """Compile bench/cfloor.c into ``folder``: (the binary, seconds)."""
    import time

    binary = folder / "cfloor"
    began = time.perf_counter()
    subprocess.run([compiler() or "cc", *CFLAGS, "-o", str(binary), str(HERE / "cfloor.c")], check=True)
    return binary, time.perf_counter() - began


def export(spec, queues: int, path: Path) -> None:
    """Write the packed engine's step tables for ``queues`` queues of ``spec``."""
    from virtio_notifier_spec.model.packed import PackedExplorer

    explorer = PackedExplorer(spec, queues)
    codec = explorer.codec
    starts = list(dict.fromkeys(codec.encode(s) for s in explorer.machine.initial_states()))
    head = [MAGIC, codec.dev_bits, codec.queue_bits, queues, explorer.cells, len(codec.singles)]
    head += [len(explorer.instances), len(starts)]
    parts = [np.array(head, dtype="<u8")]
    for target, delta in zip(explorer.inst_target, explorer.deltas, strict=True):
        parts.append(np.array([EVERY_QUEUE if target is None else target], dtype="<u8"))
        parts.append(np.ascontiguousarray(delta, dtype="<u8").ravel())
    parts.append(np.array(starts, dtype="<u8"))
    with path.open("wb") as out:
        for part in parts:
            out.write(part.tobytes())


def run_floor(spec, queues: int, binary: Path, expect: tuple[int, int] | None = None) -> dict:
    """Search ``queues`` queues of ``spec`` with the C floor: its JSON line.
    With ``expect`` (states, transitions), a different count is an error."""
    with tempfile.TemporaryDirectory() as work:
        tables = Path(work) / "tables.bin"
        export(spec, queues, tables)
        out = subprocess.run([str(binary), str(tables)], capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    if expect is not None and (result["states"], result["transitions"]) != tuple(expect):
        raise AssertionError(
            f"the C floor counts {result['states']:,} states and {result['transitions']:,} transitions at "
            f"{queues} queues, the packed engine {expect[0]:,} and {expect[1]:,}"
        )
    return result


def main(argv: list[str]) -> int:
    from virtio_notifier_spec.model.packed import explore_packed
    from virtio_notifier_spec.spec.load import load_spec

    queues = int(argv[0]) if argv else 8
    spec = load_spec("resolved")
    with tempfile.TemporaryDirectory() as work:
        binary, seconds = build(Path(work))
        result = run_floor(spec, queues, binary)
        result["compile_seconds"] = seconds
        if "--check" in argv:
            engine = explore_packed(spec, queues)
            run_floor(spec, queues, binary, (engine.states, engine.transitions))
            result["engine_states"] = engine.states
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
