"""``virtio-notifier-spec liveness``: the properties of infinite runs of one table.

Checks every ``leads_to``, ``recoverable`` and ``deadlock_free`` property on
the whole reachable graph (``model/liveness.py``), under the fairness the
table's events declare (``--no-fairness`` drops it), optionally reduced by
queue symmetry (``scale/liveness.py`` says what it decides and refuses) and
cross-checked by SPIN. A failure is printed as a lasso: a shortest stem,
then the cycle the run repeats for ever. Exit codes: 0 every property holds
(and SPIN agrees), 1 one fails (or SPIN disagrees), 2 bad input or a
refusal, 3 a run stopped early (``--max-states``, ``--timeout``, ``--depth``) or SPIN
could not tell, 130 interrupted (the verdicts decided so far are printed).

``check``, ``verify`` and ``diff`` give the same verdicts beside their own
(``scale/verdicts.py``).
"""

from __future__ import annotations

import shlex
import tempfile
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from virtio_notifier_spec.model.explore import INTERRUPTED, TIMEOUT
from virtio_notifier_spec.model.liveness import LivenessRun, failure_text
from virtio_notifier_spec.model.report import environment_lines, span
from virtio_notifier_spec.scale.liveness import check_every
from virtio_notifier_spec.scale.spin import available, spin_liveness
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import ADVERSARIAL
from virtio_notifier_spec.spec.schema import Spec

from .deadline import Deadline, TimeoutReached
from .document import print_document
from .env import env_option
from .exitcodes import ExitCode, outcome
from .export import write_lassos
from .guard import guarded, stopped_note
from .options import (
    depth_option,
    max_states_option,
    property_option,
    queues_option,
    run_options,
    spec_option,
    traces_option,
)
from .output import console, print_text
from .progress import Progress

# -- what a run says ------------------------------------------------------------


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


def print_failures(out: Console, runs: list[LivenessRun]) -> None:
    shown: set[str] = set()
    for run in runs:
        for name in run.failures:
            if name not in shown:
                shown.add(name)
                print_text(out, failure_text(run, name))
                out.print()


# -- the command ------------------------------------------------------------------


def _spin_column(spec: Spec, sizes, fair: bool) -> dict[str, list[str]]:
    """SPIN's verdicts per property, one per queue count."""
    found: dict[str, list[str]] = {p.name: [] for p in spec.liveness}
    with tempfile.TemporaryDirectory(prefix="liveness-spin-") as work:
        for n in sizes:
            run = spin_liveness(spec, n, Path(work) / str(n), fair=fair)
            for name in found:
                found[name].append(run.shown(name) if name in run.verdicts else "unknown")
    return found


@click.command()
@spec_option()
@queues_option(default="1-3")
@click.option(
    "--symmetry/--no-symmetry",
    default=False,
    show_default=True,
    help="Decide each property on a reduced graph where that is exact; refuse the others (exit 2).",
)
@click.option("--fairness/--no-fairness", default=True, show_default=True, help="Keep the events' fairness.")
@click.option("--spin", "with_spin", is_flag=True, help="Also ask SPIN (LTL, pan -a -f) and compare its verdicts.")
@property_option
@traces_option
@max_states_option
@depth_option
@run_options
@env_option
@guarded
def liveness(
    spec_name: str,
    queues: range,
    symmetry: bool,
    fairness: bool,
    with_spin: bool,
    properties: tuple[str, ...],
    traces_dir: str | None,
    max_states: int | None,
    depth: int | None,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    env: str,
) -> int:
    """Check the properties of infinite runs: leads_to, recoverable, deadlock_free."""
    spec = _only(load_spec(spec_name, env=env), properties)
    if with_spin and not available():
        raise SpecError("--spin needs spin and a C compiler (make deps)")
    deadline = Deadline(timeout)
    spin = None
    with Progress(f"liveness {spec.name}, {queues[0]}-{queues[-1]} queue(s)", quiet=quiet) as progress:
        runs = check_every(
            spec,
            queues,
            symmetry=symmetry,
            fair=fairness,
            max_states=max_states,
            depth=depth,
            timeout=deadline.remaining(),
        )
        partial = next((r.partial for r in runs if r.partial), None)
        if with_spin and partial is None:
            progress.stage("asking SPIN")
            try:
                with deadline.enforced():
                    spin = _spin_column(spec, queues, fairness)
            except TimeoutReached:
                partial = "SPIN stopped at --timeout"
            except KeyboardInterrupt:  # the verdicts found without SPIN are kept, and printed
                partial = INTERRUPTED
    not_run = [n for n in queues if n not in {r.queues for r in runs}]
    partial = partial or (TIMEOUT if not_run else None)
    disagree = [  # SPIN's "unknown" disagrees with nothing: it leaves the run incomplete (exit 3)
        name
        for name, verdicts in (spin or {}).items()
        for run, theirs in zip(runs, verdicts, strict=True)
        if theirs in ("holds", "fails") and run.verdict(name) in ("holds", "fails") and theirs != run.verdict(name)
    ]
    unknown = [x for verdicts in (spin or {}).values() for x in verdicts if x.startswith("unknown")]
    if partial is None and unknown:
        partial = "SPIN could not tell" + (f" ({unknown[0][9:-1]})" if unknown[0] != "unknown" else "")
    elsewhere = {} if properties else _not_checked_here(spec, spec_name, queues)
    if as_json:
        extra = {"not_run": not_run, "not_checked": elsewhere, "spin": spin}
        print_document("liveness", runs_json(runs), stopped=partial, **extra)
    else:
        _print(spec, runs, spin, disagree, fairness, elsewhere)
        if not_run:
            print_text(console(), f"{spec.name}: not run for {span(not_run)} queue(s): the run before stopped early")
    if traces_dir is not None:
        write_lassos(traces_dir, spec, spec_name, _first_lassos(runs))
    stopped_note(partial)
    if disagree:
        return ExitCode.FAILS
    return outcome(failed=any(r.failures for r in runs), partial=partial, vacuous=any(r.vacuous for r in runs))


def _not_checked_here(spec: Spec, spec_arg: str, queues: range) -> dict[str, str]:
    """The properties of single states and steps, which this command leaves
    to ``check``: each with the command that checks it."""
    words = ["virtio-notifier-spec", "check", "--spec", spec_arg, "--queues", span(list(queues))]
    words += [] if spec.env == ADVERSARIAL else ["--env", spec.env]
    why = f"a property of states and steps; {shlex.join(words)} checks it"
    return {p.name: why for p in spec.properties}


def _first_lassos(runs: list[LivenessRun]):
    """``(queues, property, lasso)`` for each failing property, at the smallest queue count."""
    seen: set[str] = set()
    for run in runs:
        for name, failure in run.failures.items():
            if name not in seen:
                seen.add(name)
                yield run.queues, name, failure.lasso


def _only(spec: Spec, names: tuple[str, ...]) -> Spec:
    """``--property``: only the named liveness properties; an unknown name is bad input."""
    known = [p.name for p in spec.liveness]
    for name in names:
        if name not in known:
            raise SpecError(
                f"no liveness property {name!r} in {spec.name} (known: {', '.join(known)})", field="--property"
            )
    return replace(spec, liveness=tuple(p for p in spec.liveness if p.name in names)) if names else spec


def _print(
    spec: Spec, runs: list[LivenessRun], spin, disagree: list[str], fairness: bool, elsewhere: dict[str, str]
) -> None:
    out = console()
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
            cells.append(", ".join(dict.fromkeys(spin[prop.name])) + (" (disagrees)" if prop.name in disagree else ""))
        table.add_row(prop.name, prop.kind.value, *cells)
    out.print(table)
    for line in environment_lines(spec, [p.name for p in spec.liveness]):  # what the environment left out
        print_text(out, line)
    if elsewhere:
        print_text(out, f"not checked here: {', '.join(elsewhere)}: {next(iter(elsewhere.values()))}")
    print_failures(out, runs)
