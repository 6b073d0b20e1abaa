"""``virtio-notifier-spec mutants``: every faulty device must be caught.

Runs the breadth-first search of :mod:`..model.expose` against the reference
implementation (which must survive it: for small devices the search visits
every reachable state) and against each mutant of :mod:`virtio_notifier_spec.reference.mutants`
(each must be exposed), and prints, per mutant, the shortest event sequence
that exposes it. Exit codes: 0 every mutant killed and the reference
conforms, 1 otherwise, 2 bad input or usage, 3 stopped by --timeout, 130
interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass

import click
from rich.table import Table
from rich.text import Text

from virtio_notifier_spec.model.explore import TIMEOUT
from virtio_notifier_spec.model.report import span
from virtio_notifier_spec.reference.device import Device
from virtio_notifier_spec.reference.expose import Exposure, Search, expose
from virtio_notifier_spec.reference.mutants import MUTANTS, Mutant
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import Spec

from .deadline import Deadline, TimeoutReached
from .document import print_document
from .env import env_option
from .exitcodes import INTERRUPTED, outcome
from .guard import guarded, say
from .options import queues_option, run_options, spec_option
from .output import console, print_text
from .progress import Progress


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


def kills_json(spec: Spec, reference: Search | None, kills: tuple[Kill, ...], sizes: range) -> dict:
    return {
        "spec": spec.name,
        "queues": list(sizes),
        "reference": None
        if reference is None
        else {
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


def reference_line(reference: Search, sizes: range) -> str:
    if reference.exposure is not None:
        e = reference.exposure
        return f"reference: DIVERGES with {_where(e)} after {e.sequence()}: {'; '.join(e.problems)}"
    scope = "every reachable state" if reference.exhausted else "the states within the depth bound"
    return f"reference: conforms in {scope} ({reference.nodes} state pairs, {span(list(sizes))} queue(s))"


def _select(names: tuple[str, ...]) -> tuple[Mutant, ...]:
    known = {m.name: m for m in MUTANTS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SpecError(f"no mutant {unknown[0]!r}; known: {', '.join(known)}", field="--only")
    return tuple(known[n] for n in names) if names else MUTANTS


@click.command("mutants")
@spec_option(help="The table the devices are judged by: a variant or a TOML file.")
@queues_option(
    default="1-2", maximum=4, help="Devices searched: N queues, or every count from A to B (A-B), at most 4."
)
@click.option(
    "--max-queues",
    type=click.IntRange(1, 4),
    default=None,
    hidden=True,
    help="Same as --queues 1-N (kept for old scripts).",
)
@click.option("--max-depth", type=click.IntRange(1, 40), default=12, show_default=True, help="Longest event sequence.")
@click.option("--only", multiple=True, metavar="NAME", help="Only this mutant (repeatable).")
@run_options
@env_option
@guarded
def mutants(
    spec_name: str,
    queues: range,
    max_queues: int | None,
    max_depth: int,
    only: tuple[str, ...],
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    env: str,
) -> int:
    """Check that every mutant of the reference implementation is caught.

    Each is shown with the shortest event sequence that exposes it; the
    reference itself must survive the same search. Exit 1 if a mutant
    survives or the reference diverges; --timeout and Ctrl-C print the
    mutants searched so far (exit 3, 130).
    """
    spec = load_spec(spec_name, env=env)
    chosen = _select(only)
    sizes = range(1, max_queues + 1) if max_queues is not None else queues
    deadline = Deadline(timeout)
    reference = None
    kills: list[Kill] = []
    stopped = None
    with Progress("mutants", quiet=quiet) as progress:
        try:
            with deadline.enforced():
                progress.stage("the reference device")
                reference = expose(Device, spec, sizes, max_depth)
                for mutant in chosen:
                    progress.stage(f"mutant {mutant.name} ({len(kills)}/{len(chosen)} searched)")
                    kills.append(Kill(mutant, expose(mutant.device, spec, sizes, max_depth)))
        except TimeoutReached:
            stopped = TIMEOUT
        except KeyboardInterrupt:
            stopped = INTERRUPTED
    found = tuple(kills)
    if as_json:
        document = kills_json(spec, reference, found, sizes)
        print_document("mutants", document.pop("mutants"), stopped=stopped, **document)
    else:
        out = console()
        if found:
            out.print(kills_table(found))
        killed = sum(k.killed for k in found)
        if len(found) == len(chosen):
            out.print(f"{killed}/{len(chosen)} mutants killed ({100 * killed // len(chosen)}%)", markup=False)
        else:
            out.print(f"{killed}/{len(found)} mutants searched killed; {len(chosen) - len(found)} not searched")
        if reference is not None:
            print_text(out, reference_line(reference, sizes))
    if stopped:
        say(f"{'interrupted' if stopped == INTERRUPTED else 'incomplete: ' + stopped}: {len(found)} mutant(s) searched")
    failed = (reference is not None and reference.exposure is not None) or not all(k.killed for k in found)
    return outcome(failed=failed, partial=stopped)
