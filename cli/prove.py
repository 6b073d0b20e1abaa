"""The ``prove`` command: every property of a table proved with Z3 for every
number of queues, its hygiene, and optionally the cross-check of the two
interpreters (explorer and bounded model checking).

Exit codes (``exitcodes.py``): 0 everything proved (and the interpreters
agree), 1 a violation (with its trace) or a disagreement of the
interpreters, 2 bad input, 3 undecided (``unknown``, ``unknown: not
inductive``, a hygiene check that holds for some N only, or ``--timeout``),
4 an internal error, 130 interrupted. See proofs/README.md for the argument.
"""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table
from virtio_notifier_spec.proofs.budget import Budget, OutOfTime
from virtio_notifier_spec.proofs.crosscheck import CrossCheck, crosscheck
from virtio_notifier_spec.proofs.induction import Disagreement
from virtio_notifier_spec.proofs.prove import prove as prove_table
from virtio_notifier_spec.proofs.result import ProofReport, Verdict
from virtio_notifier_spec.proofs.symbolic import SolverGaveUp
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec

from .env import env_option
from .exitcodes import ExitCode

_STYLE = {
    Verdict.PROVED: "green",
    Verdict.VIOLATED: "red",
    Verdict.NOT_INDUCTIVE: "yellow",
    Verdict.BOUNDED: "yellow",
    Verdict.UNKNOWN: "yellow",
    Verdict.NOT_APPLICABLE: "dim",
}


def proof_cell(report: ProofReport, name: str) -> str:
    """``proved (4 ms)`` or ``VIOLATED (1.2 s)`` for one check, with markup."""
    proof = report.get(name)
    if proof is None:
        return ""
    style = _STYLE[proof.verdict]
    word = proof.label if proof.proved else proof.label.upper()
    took = f"{proof.seconds * 1000:.0f} ms" if proof.seconds < 1 else f"{proof.seconds:.1f} s"
    return f"[{style}]{word}[/{style}] ({took})"


def proofs_table(report: ProofReport) -> Table:
    title = f"Proofs: {report.spec.name}, every number of queues"
    table = Table(title=title, caption=f"search: {report.search}" if report.search else None)
    for column in ("property", "kind", "verdict", "how"):
        table.add_column(column)
    for proof in report.proofs:
        how = proof.message if proof.proved else proof.message.split(";")[0]
        table.add_row(proof.name, proof.kind, proof_cell(report, proof.name), how)
    return table


def crosscheck_table(checks: list[CrossCheck]) -> Table:
    table = Table(title="Cross-check: explorer and bounded model checking")
    columns = ("variant", "queues", "explorer states", "reached by Z3", "closed in Z3", "depth", "verdicts", "seconds")
    for column in columns:
        table.add_column(column, justify="left" if column == "variant" else "right")
    for c in checks:
        agree = "[green]agree[/green]" if c.ok else f"[red]{len(c.disagreements)} differ[/red]"
        closed = "yes" if c.closed else "[red]no[/red]"
        table.add_row(
            c.spec, str(c.queues), f"{c.states:,}", f"{c.confirmed:,}", closed, str(c.depth), agree, f"{c.seconds:.2f}"
        )
    return table


def report_json(report: ProofReport) -> dict:
    return {
        "variant": report.spec.name,
        "ok": report.ok,
        "assumed": list(report.assumed),
        "search": report.search,
        "proofs": [p.to_json(report.spec) for p in report.proofs],
    }


def crosscheck_json(check: CrossCheck) -> dict:
    return {
        "variant": check.spec,
        "queues": check.queues,
        "states": check.states,
        "reached_by_z3": check.confirmed,
        "closed_in_z3": check.closed,
        "depth": check.depth,
        "ok": check.ok,
        "verdicts": {name: {"explorer": a, "z3": b} for name, a, b in check.verdicts},
        "disagreements": list(check.disagreements),
    }


def print_failures(console: Console, report: ProofReport) -> None:
    for proof in report.proofs:
        if not proof.proved:
            console.print(proof.format(report.spec), markup=False, soft_wrap=True)
            console.print()


def exit_code(report: ProofReport, checks: list[CrossCheck], undecided: bool) -> ExitCode:
    """1 for a violation or a disagreement, else 3 for anything undecided, else 0."""
    if report.violated or not all(c.ok for c in checks):
        return ExitCode.FAILS
    if undecided or not report.ok:
        return ExitCode.INCOMPLETE
    return ExitCode.HOLDS


@click.command("prove")
@click.option(
    "--spec",
    "spec_name",
    default="resolved",
    show_default=True,
    help="A variant (proposal, resolved) or the path of a table's TOML file.",
)
@click.option(
    "--crosscheck",
    "cross",
    type=click.IntRange(min=1, max=6),
    default=None,
    metavar="N",
    help="Also compare Z3's reachable states and verdicts with the explorer's for 1..N queues.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Stop after this many seconds; what is not decided by then is unknown (exit 3).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.option("--quiet", is_flag=True, help="Print only what is not proved (nothing when all is).")
@env_option
def prove(spec_name: str, cross: int | None, timeout: float | None, as_json: bool, quiet: bool, env: str) -> None:
    """Prove every property of one table for every number of queues.

    Invariants by induction (queues are an uninterpreted sort), step and
    history-freedom properties over the transition relation, and the
    table's hygiene. A failed proof shows a trace (a real violation, found
    by a search of 1 to 8 queues) or, when none is found, the
    counterexample to induction and the N searched: unknown, not true.
    """
    budget = Budget(timeout)
    try:
        sys.exit(_prove(spec_name, env, cross, budget, as_json, quiet))
    except KeyboardInterrupt:
        # objects the interrupt left half-built (a Z3 term, say) complain
        # when collected at exit: the one line below is all there is to say
        sys.unraisablehook = lambda _: None
        click.echo("prove: interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)


def _prove(spec_name: str, env: str, cross: int | None, budget: Budget, as_json: bool, quiet: bool) -> int:
    try:
        spec = load_spec(spec_name, env=env)
    except SpecError as exc:
        click.echo(f"error: {exc}", err=True)
        return ExitCode.BAD_INPUT
    try:
        report = prove_table(spec, budget=budget)
    except Disagreement as exc:
        click.echo(f"internal error: {exc}", err=True)
        return ExitCode.INTERNAL
    checks: list[CrossCheck] = []
    problem = None
    try:
        for n in range(1, (cross or 0) + 1):
            checks.append(crosscheck(spec, n, budget=budget))
    except SolverGaveUp as exc:
        problem = f"the solver gave up during the cross-check: {exc}"
    except OutOfTime as exc:
        problem = f"the cross-check {exc} after {len(checks)} of {cross} queue count(s)"
    if as_json:
        document = report_json(report)
        if cross:
            document["crosscheck"] = [crosscheck_json(c) for c in checks]
        click.echo(json.dumps(document, indent=2))
    else:
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
        if not quiet:
            console.print(proofs_table(report))
        print_failures(console, report)
        if checks and not quiet:
            console.print(crosscheck_table(checks))
        for c in checks:
            for line in c.disagreements:
                console.print(f"{c.spec}, {c.queues} queue(s): {line}", markup=False)
    if problem:
        click.echo(f"note: {problem}", err=True)
    return exit_code(report, checks, problem is not None)
