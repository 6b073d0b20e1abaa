"""The long differential soundness run: ``make soundness``.

Draws random tables (``fragment_tables.py``) from a fixed seed until ``--tables``
distinct ones have been checked (a table drawn twice is checked once), runs
every engine on each (``differential.py``: explicit search at N = 1..4, orbits, support,
Z3 on every table, SPIN at N = 1..2 on every ``--spin-every``-th one) and
writes what was tried, compared, refused and skipped, and every
disagreement, to ``bench/soundness.md``. Exit 0 when nothing disagrees, 1
otherwise (the disagreeing tables are written out in full).

    python tests/soundness/run.py --tables 1000 --seed 0 --out bench/soundness.md
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from soundness.differential import Report, differential
from soundness.fragment_tables import tables

from virtio_notifier_spec.spec.fragment import support_reason, witness_reason
from virtio_notifier_spec.spec.load import load_spec


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spin-every", type=int, default=10, help="run SPIN on every n-th table (0: never)")
    parser.add_argument("--out", type=Path, default=Path("bench/soundness.md"))
    args = parser.parse_args()

    total = Report()
    kinds = {"tame": 0, "inside support": 0, "compare queues": 0}
    texts: set[str] = set()
    failing: list[tuple[str, list[str]]] = []
    began = time.perf_counter()

    @seed(args.seed)
    @settings(
        max_examples=args.tables + args.tables // 4,  # about 6% of the draws repeat a table
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(tables())
    def one(table) -> None:
        if table.text in texts or total.tables >= args.tables:
            return
        texts.add(table.text)
        number = total.tables + 1
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "t.toml"
            path.write_text(table.text)
            spec = load_spec(path)
            spin = args.spin_every > 0 and number % args.spin_every == 0
            report = differential(spec, f"table {number}", proofs=True, spin=spin)
        kinds["tame"] += table.tame
        kinds["inside support"] += support_reason(spec) is None
        kinds["compare queues"] += witness_reason(spec) is not None
        total.add(report)
        if report.disagreements:
            failing.append((table.text, report.disagreements))
        if number % 100 == 0:
            done = f"{number} tables, {len(total.disagreements)} disagreements, {time.perf_counter() - began:.0f} s"
            print(done, flush=True)

    one()
    seconds = time.perf_counter() - began
    args.out.write_text(_markdown(args, total, kinds, failing, seconds))
    print(f"{total.tables} tables, {len(total.disagreements)} disagreements; written to {args.out}")
    return 1 if total.disagreements else 0


def _markdown(args, total: Report, kinds: dict, failing, seconds: float) -> str:
    compared = total.compared
    lines = [
        "# The differential soundness run",
        "",
        f"`make soundness` (`tests/soundness/run.py --tables {args.tables} --seed {args.seed} "
        f"--spin-every {args.spin_every}`): random tables from `tests/soundness/fragment_tables.py`, each checked by "
        "`tests/soundness/differential.py`: the explicit search at N = 1..4, the orbit search at the same N, "
        "the support abstraction at N = 1024 (against the explicit search from its cutoff on, itself at the "
        "cutoff and the orbit search at cutoff + 1) or its refusal, Z3's `prove`, and SPIN at N = 1..2.",
        "",
        "| what | count |",
        "|---|---:|",
        f"| distinct tables checked (of {args.tables} asked for) | {total.tables} |",
        f"| drawn tame (no queue comparison, universal properties) | {kinds['tame']} |",
        f"| inside the support fragment | {kinds['inside support']} |",
        f"| outside it, refused by support and by `scale` | {total.refused['support']} |",
        f"| comparing queues (the orbit search steps every queue) | {kinds['compare queues']} |",
        f"| explicit searches (N = 1..4) | {compared['explicit']} |",
        f"| orbit searches compared with them | {compared['orbits']} |",
        f"| support runs compared | {compared['support']} |",
        f"| support compared with orbits at cutoff + 1 | {compared['support against orbits']} |",
        f"| Z3 reports compared | {compared['z3']} |",
        f"| SPIN runs compared | {compared['spin']} |",
        *(f"| skipped: {name} over its state budget | {count} |" for name, count in sorted(total.skipped.items())),
        f"| **disagreements** | **{len(total.disagreements)}** |",
        "",
        f"{seconds:.0f} s on {os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}), "
        "shared with other work while it ran.",
        "",
    ]
    for text, disagreements in failing:
        lines += ["## A disagreement", "", *(f"- {d}" for d in disagreements), "", "```toml", text, "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
