"""``virtio-notifier-spec liveness``: the properties of infinite runs of one table.

Checks every ``leads_to``, ``recoverable`` and ``deadlock_free`` property on
the whole reachable graph (``model/liveness.py``), under the fairness the
table's events declare (``--no-fairness`` drops it), optionally reduced by
queue symmetry (``scale/liveness.py`` says what it decides and refuses) and
cross-checked by SPIN. A failure is printed as a lasso: a shortest stem,
then the cycle the run repeats for ever. Exit codes: 0 every property holds
(and SPIN agrees), 1 one fails (or SPIN disagrees), 2 bad input or a
refusal, 3 a run stopped early (``--max-states``, ``--timeout``) or SPIN
could not tell.

The verdict table of ``verify`` gains the same rows (:func:`add_rows`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from virtio_notifier_spec.model.liveness import LivenessRun, failure_text
from virtio_notifier_spec.scale.liveness import check_every, plans
from virtio_notifier_spec.scale.spin import available, spin_liveness
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import Spec

from .env import env_option
from .exitcodes import ExitCode
from .params import QueueRange, Seconds

# -- what a run says ------------------------------------------------------------


def cell(runs: list[LivenessRun], name: str) -> str:
    """``holds (1-6 q)`` or ``FAILS (1 q, lasso 2+2)`` for one property over runs."""
    failing = [r for r in runs if name in r.failures]
    if failing:
        first = failing[0]
        lasso = first.failures[name].lasso
        return f"[red]FAILS[/red] ({first.queues} q, lasso {len(lasso.stem)}+{len(lasso.cycle)})"
    if any(r.partial for r in runs):
        return "[yellow]unknown[/yellow] (partial)"
    sizes = sorted(r.queues for r in runs)
    span = f"{sizes[0]}-{sizes[-1]}" if len(sizes) > 1 else str(sizes[0])
    return f"[green]holds[/green] ({span} q)"


def add_rows(table: Table, by_variant: dict[str, list[LivenessRun]], extra_columns: int = 0) -> None:
    """One row per liveness property of the first variant, one cell per
    variant; when the verdict table has a "proved for all N" column
    (``extra_columns``), the cell says which properties the one-queue
    projection decides for every N."""
    first = next(iter(by_variant.values()))[0].spec
    reduced = plans(first, "auto")
    for prop in first.liveness:
        cells = [cell(runs, prop.name) for runs in by_variant.values()]
        if extra_columns:
            cells.append("every N (one-queue projection)" if reduced[prop.name] == "projection" else "-")
        table.add_row(prop.name, prop.kind.value, *cells)


def runs_json(runs: list[LivenessRun]) -> list[dict]:
    return [
        {
            "variant": r.spec.name,
            "queues": r.queues,
            "states": r.states,
            "transitions": r.edges,
            "reduction": r.reduction,
            "fairness": r.fairness,
            "partial": r.partial,
            "verdicts": {name: r.verdict(name) for name in r.checks},
            "lassos": {name: {"message": f.message, **f.lasso.to_json(r.spec)} for name, f in r.failures.items()},
        }
        for r in runs
    ]


def print_failures(console: Console, runs: list[LivenessRun]) -> None:
    shown: set[str] = set()
    for run in runs:
        for name in run.failures:
            if name not in shown:
                shown.add(name)
                console.print(failure_text(run, name), markup=False, soft_wrap=True)
                console.print()


# -- the command ------------------------------------------------------------------


def _spin_column(spec: Spec, sizes, fair: bool) -> dict[str, list[str]]:
    """SPIN's verdicts per property, one per queue count."""
    found: dict[str, list[str]] = {p.name: [] for p in spec.liveness}
    with tempfile.TemporaryDirectory(prefix="liveness-spin-") as work:
        for n in sizes:
            verdicts = spin_liveness(spec, n, Path(work) / str(n), fair=fair).verdicts
            for name in found:
                found[name].append(verdicts.get(name, "unknown"))
    return found


@click.command()
@click.option("--spec", "spec_name", default="resolved", show_default=True, help="A variant or a table's TOML file.")
@click.option("--queues", type=QueueRange(), default="1-3", show_default=True, help="N, or a range A-B.")
@click.option(
    "--symmetry/--no-symmetry",
    default=False,
    show_default=True,
    help="Decide each property on a reduced graph where that is exact; refuse the others (exit 2).",
)
@click.option("--fairness/--no-fairness", default=True, show_default=True, help="Keep the events' fairness.")
@click.option("--spin", "with_spin", is_flag=True, help="Also ask SPIN (LTL, pan -a -f) and compare its verdicts.")
@click.option("--max-states", type=click.IntRange(min=1), help="Stop a run after this many states (unknown).")
@click.option("--timeout", type=Seconds(), help="Stop a run after this many seconds (unknown).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@env_option
def liveness(spec_name, queues, symmetry, fairness, with_spin, max_states, timeout, as_json, env) -> None:
    """Check the properties of infinite runs: leads_to, recoverable, deadlock_free."""
    try:
        spec = load_spec(spec_name, env=env)
        runs = check_every(spec, queues, symmetry=symmetry, fair=fairness, max_states=max_states, timeout=timeout)
        if with_spin and not available():
            raise SpecError("--spin needs spin and a C compiler (make deps)")
        spin = _spin_column(spec, queues, fairness) if with_spin else None
    except SpecError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(ExitCode.BAD_INPUT)
    disagree = [
        name
        for name, verdicts in (spin or {}).items()
        for run, theirs in zip(runs, verdicts, strict=True)
        if theirs != run.verdict(name)
    ]
    if as_json:
        document = {"liveness": runs_json(runs)}
        if spin is not None:
            document["spin"] = spin
        click.echo(json.dumps(document, indent=2))
    else:
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
        fair = "declared" if fairness else "none (--no-fairness)"
        table = Table(title=f"Liveness: {spec.name}, env {spec.env}, fairness {fair}, {runs[0].note}")
        table.add_column("property")
        table.add_column("kind")
        for run in runs:
            table.add_column(f"{run.queues} q", justify="left")
        if spin is not None:
            table.add_column("SPIN")
        for prop in spec.liveness:
            cells = [run.verdict(prop.name) for run in runs]
            if spin is not None:
                cells.append(
                    ", ".join(dict.fromkeys(spin[prop.name])) + (" (disagrees)" if prop.name in disagree else "")
                )
            table.add_row(prop.name, prop.kind.value, *cells)
        console.print(table)
        print_failures(console, runs)
    if disagree:
        sys.exit(ExitCode.FAILS)
    if any(r.partial for r in runs) or any("unknown" in v for v in (spin or {}).values()):
        sys.exit(ExitCode.INCOMPLETE)
    sys.exit(ExitCode.HOLDS if all(r.ok for r in runs) else ExitCode.FAILS)
