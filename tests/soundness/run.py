"""The long differential soundness run: ``make soundness``.

Draws random tables (``fragment_tables.py``) from a fixed seed until ``--tables``
distinct ones have been checked (a table drawn twice is checked once), runs
every engine on each (``differential.py``: the general explorer at N = 1..4
as the reference, the packed engine, orbits and support on both engines,
liveness and its reductions against the whole graph, the environment, several
devices against a naive composition, extends against the table written out
whole, Z3 on every table, SPIN at N = 1..2 on every ``--spin-every``-th one)
and writes what was tried, compared, refused, skipped and left undecided
(with why), the shapes drawn, and every disagreement, to
``bench/soundness.md``, with the time, the machine and its load. Exit 0 when
nothing disagrees, 1 otherwise (the disagreeing tables are written out in full).

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

from soundness.differential import Report, check_table
from soundness.fragment_tables import SHAPES, tables, write

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
    loads = [os.getloadavg()]
    began = time.perf_counter()

    @seed(args.seed)
    @settings(
        max_examples=args.tables + args.tables // 4,  # some draws repeat a table
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(tables())
    def one(table) -> None:
        key = table.text + "".join(table.files.values()) + (table.config or "") + (table.env or "")
        if key in texts or total.tables >= args.tables:
            return
        texts.add(key)
        number = total.tables + 1
        with tempfile.TemporaryDirectory() as work:
            spin = args.spin_every > 0 and number % args.spin_every == 0
            report = check_table(table, Path(work), f"table {number}", proofs=True, spin=spin)
            spec = load_spec(write(table, Path(work)), env=table.env or "adversarial")
        kinds["tame"] += table.tame
        kinds["inside support"] += support_reason(spec) is None
        kinds["compare queues"] += witness_reason(spec) is not None
        total.add(report)
        if report.disagreements:
            failing.append((_files(table), report.disagreements))
        if number % 100 == 0:
            loads.append(os.getloadavg())
            done = f"{number} tables, {len(total.disagreements)} disagreements, {time.perf_counter() - began:.0f} s"
            print(done, flush=True)

    one()
    seconds = time.perf_counter() - began
    loads.append(os.getloadavg())
    args.out.write_text(_markdown(args, total, kinds, failing, seconds, loads))
    print(f"{total.tables} tables, {len(total.disagreements)} disagreements; written to {args.out}")
    return 1 if total.disagreements else 0


def _files(table) -> str:
    parts = {"t.toml": table.text, **table.files}
    if table.config:
        parts["config.toml"] = table.config
    env = f"(checked in the environment {table.env})\n" if table.env else ""
    return env + "\n".join(f"# {name}\n{text}" for name, text in parts.items())


def _markdown(args, total: Report, kinds: dict, failing, seconds: float, loads) -> str:
    compared = total.compared
    engines = sorted(compared.items())
    lines = [
        "# The differential soundness run",
        "",
        f"`make soundness` (`tests/soundness/run.py --tables {args.tables} --seed {args.seed} "
        f"--spin-every {args.spin_every}`): random tables from `tests/soundness/fragment_tables.py`, each checked "
        "by `tests/soundness/differential.py` against the unreduced general search: the general explorer at "
        "N = 1..4 is the reference for the packed engine, the orbit search (general and packed engines) and the "
        "support abstraction at N = 1024 (against the explicit search from its cutoff on, itself at the cutoff "
        "and the orbit search at cutoff + 1) or its refusal; the whole reachable graph at N = 1..3 is the "
        "reference for liveness and its reductions (one-queue projection, orbits), their lassos replayed as fair "
        "runs; a naive composition for several devices; the table written out whole for a variant that extends "
        'another; Z3\'s `prove` (proofs at every N searched, traces replayed, "no violation for N = 1..K" against '
        "the orbit search at K, `no_dead_transition` and `non_vacuous` against the explicit search); SPIN at "
        f"N = 1..2 (safety and liveness) on every {args.spin_every}th table.",
        "",
        "## What was drawn",
        "",
        "| what | count |",
        "|---|---:|",
        f"| distinct tables checked (of {args.tables} asked for) | {total.tables} |",
        f"| drawn tame (no queue comparison, universal properties) | {kinds['tame']} |",
        f"| inside the support fragment | {kinds['inside support']} |",
        f"| comparing queues (the orbit search steps every queue) | {kinds['compare queues']} |",
        *(f"| with {shape} | {total.shapes[shape]} |" for shape in SHAPES),
        "",
        "## What was compared, refused, skipped",
        "",
        "| comparison | count |",
        "|---|---:|",
        *(f"| {name} | {count} |" for name, count in engines),
        *(f"| refused: {name} | {count} |" for name, count in sorted(total.refused.items())),
        *(f"| skipped: {name} over its state budget | {count} |" for name, count in sorted(total.skipped.items())),
        f"| **disagreements** | **{len(total.disagreements)}** |",
        "",
        "## Z3's verdicts neither proved nor violated, and why",
        "",
        f"{total.undecided_tables} of {total.tables} tables have at least one; each verdict below is counted once. "
        "A property that induction leaves open is decided for every N by the support search where the queues "
        "are independent (`proofs/support.py`); what remains is outside that fragment.",
        "",
        "| why | verdicts |",
        "|---|---:|",
        *(f"| {why} | {count} |" for why, count in total.undecided.most_common()),
        "",
        "Not asked of the environment (the table's profile does not issue the events; not counted above):",
        "",
        "| verdict | count |",
        "|---|---:|",
        *(f"| {why} | {count} |" for why, count in total.not_asked.most_common()),
        "",
        "## Time and load",
        "",
        f"{seconds:.0f} s on {os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}), "
        f"shared with other work while it ran: load average (1 min) {loads[0][0]:.1f} at the start, "
        f"{max(x[0] for x in loads):.1f} at most, {loads[-1][0]:.1f} at the end.",
        "",
    ]
    for text, disagreements in failing:
        lines += ["## A disagreement", "", *(f"- {d}" for d in disagreements), "", "```toml", text, "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
