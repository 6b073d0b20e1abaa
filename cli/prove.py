"""The ``prove`` command: every property of a table proved with Z3 for every
number of queues, its hygiene, and optionally the cross-check of the two
interpreters (explorer and bounded model checking).

Exit codes: 0 everything proved (and the interpreters agree), 1 a proof
fails (a violation with its trace, or a counterexample to induction), 2 bad
input, 3 undecided (the solver answered unknown, or --timeout), 130
interrupted. See proofs/README.md for the argument.
"""

from __future__ import annotations

import json

import click
import z3
from rich.console import Console
from rich.table import Table
from virtio_notifier_spec.model.explore import TIMEOUT
from virtio_notifier_spec.proofs.crosscheck import CrossCheck, crosscheck
from virtio_notifier_spec.proofs.prove import prove as prove_table
from virtio_notifier_spec.proofs.result import Proof, ProofReport, Verdict
from virtio_notifier_spec.proofs.symbolic import SolverGaveUp
from virtio_notifier_spec.spec.load import load_spec

from .deadline import Deadline, TimeoutReached
from .exitcodes import INTERRUPTED, outcome
from .export import write_counterexamples
from .guard import guarded, say
from .options import property_option, run_options, spec_option, traces_option
from .output import console, print_text
from .progress import Progress
from .selection import PROOF_HYGIENE, check_names

_STYLE = {
    Verdict.PROVED: "green",
    Verdict.VIOLATED: "red",
    Verdict.NOT_INDUCTIVE: "yellow",
    Verdict.UNKNOWN: "yellow",
}


def why_stopped(exc: BaseException, deadline: Deadline) -> str:
    """Why a proof stopped early: Ctrl-C or the deadline (Z3, interrupted
    by either, answers unknown and may also fail a push or a model query:
    the deadline's flags tell which), or the solver giving up by itself.
    Any other Z3 error is a bug, raised again."""
    if isinstance(exc, KeyboardInterrupt) or deadline.sigint:
        return INTERRUPTED
    if deadline.expired or isinstance(exc, TimeoutReached):
        return TIMEOUT
    if isinstance(exc, SolverGaveUp):
        return f"the solver gave up: {exc}"
    raise exc


def proof_cell(report: ProofReport, name: str) -> str:
    """``proved (4 ms)`` or ``VIOLATED (1.2 s)`` for one check, with markup."""
    proof = report.get(name)
    if proof is None:
        return ""
    style = _STYLE[proof.verdict]
    word = proof.verdict.value if proof.proved else proof.verdict.value.upper()
    took = f"{proof.seconds * 1000:.0f} ms" if proof.seconds < 1 else f"{proof.seconds:.1f} s"
    return f"[{style}]{word}[/{style}] ({took})"


def proofs_table(report: ProofReport) -> Table:
    table = Table(title=f"Proofs: {report.spec.name}, every number of queues")
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


def print_failures(out: Console, report: ProofReport) -> None:
    for proof in report.proofs:
        if not proof.proved:
            print_text(out, proof.format(report.spec))
            out.print()


@click.command("prove")
@spec_option()
@click.option(
    "--crosscheck",
    "cross",
    type=click.IntRange(min=1, max=6),
    default=None,
    metavar="N",
    help="Also compare Z3's reachable states and verdicts with the explorer's for 1..N queues.",
)
@property_option
@traces_option
@run_options
@guarded
def prove(
    spec_name: str,
    cross: int | None,
    properties: tuple[str, ...],
    traces_dir: str | None,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
) -> int:
    """Prove every property of one table for every number of queues.

    Invariants by induction (queues are an uninterpreted sort), step and
    history-freedom properties over the transition relation, and the
    table's hygiene. A failed proof shows a trace (a real violation) or the
    counterexample to induction (a missing lemma). --timeout and Ctrl-C
    print the checks decided so far (exit 3, 130).
    """
    spec = load_spec(spec_name)
    names = check_names(spec, properties, PROOF_HYGIENE)
    deadline = Deadline(timeout)
    decided: list[Proof] = []
    report: ProofReport | None = None
    checks: list[CrossCheck] = []
    stopped: str | None = None
    with Progress(f"proving {spec.name}", quiet=quiet) as progress:

        def note(proof: Proof) -> None:
            decided.append(proof)
            progress.update(f"{len(decided)} check(s) decided, the last {proof.name}: {proof.verdict.value}")
            deadline.check()

        try:
            with deadline.enforced(solver=True):
                report = prove_table(spec, only=names, progress=note)
                for n in range(1, (cross or 0) + 1):
                    deadline.check()
                    progress.stage(f"cross-checking {spec.name}, {n} queue(s)")
                    checks.append(crosscheck(spec, n))
        except (TimeoutReached, KeyboardInterrupt, SolverGaveUp, z3.Z3Exception) as exc:
            stopped = why_stopped(exc, deadline)
    if report is None:  # stopped before the end: what was decided
        report = ProofReport(spec, tuple(p for p in decided if not names or p.name in names), ())
    if as_json:
        document = report_json(report)
        if cross:
            document["crosscheck"] = [crosscheck_json(c) for c in checks]
        document["partial"] = stopped
        click.echo(json.dumps(document, indent=2))
    else:
        out = console()
        out.print(proofs_table(report))
        print_failures(out, report)
        if checks:
            out.print(crosscheck_table(checks))
            for c in checks:
                for line in c.disagreements:
                    print_text(out, f"{c.spec}, {c.queues} queue(s): {line}")
    if traces_dir is not None:
        found = [(len(p.trace.start.queues), p.name, p.trace, p.other) for p in report.proofs if p.trace is not None]
        write_counterexamples(traces_dir, spec, spec_name, found)
    undecided = [p.name for p in report.proofs if p.verdict is Verdict.UNKNOWN]
    if stopped:
        say(f"{'interrupted' if stopped == INTERRUPTED else 'incomplete: ' + stopped}: {len(decided)} check(s) decided")
    elif undecided:
        stopped = "unknown"
        say(f"undecided (the solver answered unknown): {', '.join(undecided)}")
    failed = any(p.verdict in (Verdict.VIOLATED, Verdict.NOT_INDUCTIVE) for p in report.proofs)
    failed = failed or any(not c.ok for c in checks)
    return outcome(failed=failed, partial=stopped)
