"""``virtio-notifier-spec mutants``: every faulty device must be caught.

Runs the breadth-first search of :mod:`..model.expose` against the reference
implementation (which must survive it: for small devices the search visits
every reachable state) and against each mutant of :mod:`virtio_notifier_spec.reference.mutants`
(each must be exposed), and prints, per mutant, the shortest event sequence
that exposes it. Exit codes: 0 every mutant killed and the reference
conforms, 1 otherwise, 2 bad input or usage.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text
from virtio_notifier_spec.reference.device import Device
from virtio_notifier_spec.reference.expose import Exposure, Search, expose
from virtio_notifier_spec.reference.mutants import MUTANTS, Mutant
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import Spec

from .env import env_option

ALL_KILLED, SURVIVORS, BAD_INPUT = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Kill:
    """One mutant and what the search found against it."""

    mutant: Mutant
    search: Search

    @property
    def killed(self) -> bool:
        return self.search.exposure is not None


def hunt(
    spec: Spec, mutants: tuple[Mutant, ...] = MUTANTS, max_queues: int = 2, max_depth: int = 12
) -> tuple[Kill, ...]:
    """Search each mutant, smallest device first."""
    sizes = range(1, max_queues + 1)
    return tuple(Kill(m, expose(m.device, spec, sizes, max_depth)) for m in mutants)


def check_reference(spec: Spec, max_queues: int = 2, max_depth: int = 12) -> Search:
    """The same search against the reference device: it must find nothing."""
    return expose(Device, spec, range(1, max_queues + 1), max_depth)


def _where(exposure: Exposure) -> str:
    host = "limited host" if exposure.limited else "unlimited host"
    return f"{exposure.queues} queue(s), {host}"


def kills_json(spec: Spec, reference: Search, kills: tuple[Kill, ...], max_queues: int) -> dict:
    return {
        "spec": spec.name,
        "queues": list(range(1, max_queues + 1)),
        "reference": {
            "conforms": reference.exposure is None,
            "exhaustive": reference.exhausted,
            "states": reference.nodes,
            "exposure": reference.exposure.to_json() if reference.exposure else None,
        },
        "mutants": [
            {
                "name": k.mutant.name,
                "breaks": k.mutant.breaks,
                "killed": k.killed,
                "length": len(k.search.exposure.events) if k.search.exposure else None,
                "shortest": k.search.exposure.to_json() if k.search.exposure else None,
            }
            for k in kills
        ],
        "killed": sum(k.killed for k in kills),
        "total": len(kills),
    }


def kills_table(kills: tuple[Kill, ...]) -> Table:
    table = Table(title="Mutants of the reference implementation", show_lines=True)
    for column in ("mutant", "what it breaks", "killed", "steps", "shortest exposing sequence", "caught by"):
        table.add_column(column, justify="right" if column == "steps" else "left")
    for k in kills:
        e = k.search.exposure
        if e is None:
            table.add_row(k.mutant.name, k.mutant.breaks, "NO", "-", f"survived {k.search.nodes} states", "")
            continue
        table.add_row(
            k.mutant.name,
            k.mutant.breaks,
            "yes",
            str(len(e.events)),
            Text(f"{_where(e)}: {e.sequence()}"),
            Text("; ".join(e.problems[:2])),
        )
    return table


def reference_line(reference: Search, max_queues: int) -> str:
    if reference.exposure is not None:
        e = reference.exposure
        return f"reference: DIVERGES with {_where(e)} after {e.sequence()}: {'; '.join(e.problems)}"
    scope = "every reachable state" if reference.exhausted else "the states within the depth bound"
    return f"reference: conforms in {scope} ({reference.nodes} state pairs, 1-{max_queues} queue(s))"


def _select(names: tuple[str, ...]) -> tuple[Mutant, ...]:
    known = {m.name: m for m in MUTANTS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise click.BadParameter(f"no mutant {unknown[0]!r}; known: {', '.join(known)}", param_hint="--only")
    return tuple(known[n] for n in names) if names else MUTANTS


@click.command("mutants")
@click.option("--spec", "spec_name", default="resolved", show_default=True, help="The table the devices are judged by.")
@click.option("--max-queues", type=click.IntRange(1, 4), default=2, show_default=True, help="Largest device searched.")
@click.option("--max-depth", type=click.IntRange(1, 40), default=12, show_default=True, help="Longest event sequence.")
@click.option("--only", multiple=True, metavar="NAME", help="Only this mutant (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@env_option
def mutants(spec_name: str, max_queues: int, max_depth: int, only: tuple[str, ...], as_json: bool, env: str) -> None:
    """Check that every mutant of the reference implementation is caught.

    Each is shown with the shortest event sequence that exposes it; the
    reference itself must survive the same search. Exit 1 if a mutant
    survives or the reference diverges.
    """
    try:
        spec = load_spec(spec_name, env=env)
    except SpecError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(BAD_INPUT)
    chosen = _select(only)
    reference = check_reference(spec, max_queues, max_depth)
    kills = hunt(spec, chosen, max_queues, max_depth)
    if as_json:
        click.echo(json.dumps(kills_json(spec, reference, kills, max_queues), indent=2))
    else:
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
        console.print(kills_table(kills))
        killed = sum(k.killed for k in kills)
        console.print(f"{killed}/{len(kills)} mutants killed ({100 * killed // len(kills)}%)", markup=False)
        console.print(reference_line(reference, max_queues), markup=False)
    ok = reference.exposure is None and all(k.killed for k in kills)
    sys.exit(ALL_KILLED if ok else SURVIVORS)
