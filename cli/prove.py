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

import dataclasses
import shlex
import sys

import click
import z3
from rich.console import Console
from rich.table import Table

from virtio_notifier_spec.model.explore import INTERRUPTED, TIMEOUT
from virtio_notifier_spec.proofs.budget import Budget, OutOfTime
from virtio_notifier_spec.proofs.crosscheck import CrossCheck, crosscheck
from virtio_notifier_spec.proofs.induction import Disagreement
from virtio_notifier_spec.proofs.prove import prove as prove_table
from virtio_notifier_spec.proofs.result import Proof, ProofReport, Verdict
from virtio_notifier_spec.proofs.symbolic import SolverGaveUp
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import ADVERSARIAL, not_issued_note
from virtio_notifier_spec.spec.schema import PropertyKind, Spec

from .document import print_document
from .env import env_option
from .exitcodes import ExitCode
from .export import write_counterexamples
from .guard import guarded, interrupted
from .options import depth_option, json_option, property_option, spec_option, timeout_option, traces_option
from .output import console, print_text
from .progress import Progress
from .selection import PROOF_HYGIENE, check_names

_STYLE = {
    Verdict.PROVED: "green",
    Verdict.VIOLATED: "red",
    Verdict.NOT_INDUCTIVE: "yellow",
    Verdict.BOUNDED: "yellow",
    Verdict.UNKNOWN: "yellow",
    Verdict.NOT_APPLICABLE: "dim",
    Verdict.VACUOUS: "yellow",
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
    caption = f"the finite search behind what induction left open: {report.search}" if report.search else None
    table = Table(title=title, caption=caption, caption_justify="left")
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


def _document_extra(report: ProofReport) -> dict:
    """``prove --json``: the keys beside ``results`` (one result per proof)."""
    found = report_json(report)
    del found["proofs"]
    return found


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


class StoppableBudget(Budget):
    """The proofs' budget that also stops them after a Ctrl-C whose
    KeyboardInterrupt a finalizer swallowed: every Z3 query asks it first."""

    def charge(self) -> None:
        if interrupted():
            raise KeyboardInterrupt
        super().charge()


def exit_code(report: ProofReport, checks: list[CrossCheck], undecided: bool) -> ExitCode:
    """1 for a violation or a disagreement, else 3 for anything undecided, else 0."""
    if report.violated or not all(c.ok for c in checks):
        return ExitCode.FAILS
    if undecided or not report.ok:
        return ExitCode.INCOMPLETE
    return ExitCode.HOLDS


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
@depth_option
@timeout_option
@json_option
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress lines; print only what is not proved (nothing when all is)."
)
@env_option
@guarded
def prove(
    spec_name: str,
    cross: int | None,
    properties: tuple[str, ...],
    traces_dir: str | None,
    depth: int | None,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    env: str,
) -> int:
    """Prove every property of one table for every number of queues.

    Invariants by induction (queues are an uninterpreted sort), step and
    history-freedom properties over the transition relation, and the
    table's hygiene. A failed proof shows a trace (a real violation, found
    by a search of 1 to 8 queues) or, when none is found, the
    counterexample to induction and the N searched: unknown, not true.
    --timeout leaves what it did not decide unknown (exit 3).
    """
    spec = load_spec(spec_name, env=env)
    names = check_names(spec, properties, PROOF_HYGIENE, liveness=False)
    spec = _asked(spec, names)
    budget = StoppableBudget(timeout)  # one budget: the proofs, then the cross-check
    decided: list[Proof] = []
    # Z3's own SIGINT handler, installed around any of its calls, would take
    # Ctrl-C for itself and answer unknown or nothing; Python's is to see it.
    z3.set_param("ctrl_c", False)
    try:
        with Progress(f"proving {spec.name}", quiet=quiet) as progress:
            options = (as_json, quiet, traces_dir, depth)
            return _prove(spec, spec_name, names, cross, budget, options, progress, decided.append)
    except KeyboardInterrupt:
        # objects the interrupt left half-built (a Z3 term, say) complain
        # when collected at exit: the lines below are all there is to say
        sys.unraisablehook = lambda _: None
        _print_decided(spec, [p for p in decided if not names or p.name in names], as_json)
        click.echo("prove: interrupted", err=True)
        return ExitCode.INTERRUPTED


def _print_decided(spec: Spec, decided: list[Proof], as_json: bool) -> None:
    """What a proof stopped by Ctrl-C had decided; every other check is unknown."""
    if as_json:
        extra = {"variant": spec.name, "ok": False, "assumed": [], "search": None, "crosscheck": [], "not_checked": {}}
        print_document("prove", [p.to_json(spec) for p in decided], stopped=INTERRUPTED, **extra)
    elif decided:
        out = console()
        for proof in decided:
            print_text(out, f"{spec.name}: {proof.name} {proof.label} before Ctrl-C: {proof.message}")
        print_text(out, f"{spec.name}: every other check is unknown")


def _not_proved(spec: Spec, spec_name: str) -> dict[str, str]:
    """The properties of infinite runs, which Z3 does not prove here: each
    with the command that checks them."""
    command = shlex.join(["virtio-notifier-spec", "liveness", "--spec", spec_name, *_env_words(spec)])
    why = f"a property of infinite runs, not proved by induction; {command} checks it"
    return {p.name: why for p in spec.liveness}


def _env_words(spec: Spec) -> list[str]:
    return [] if spec.env == ADVERSARIAL else ["--env", spec.env]


def _asked(spec: Spec, names: frozenset[str]) -> Spec:
    """``--property``: every invariant is still proved (they are each other's
    lemmas); step and history properties not named are left out."""
    if not names:
        return spec
    keep = tuple(p for p in spec.properties if p.kind is PropertyKind.INVARIANT or p.name in names)
    return dataclasses.replace(spec, properties=keep)


def _prove(spec, spec_name, names, cross, budget, options, progress, decided) -> int:
    as_json, quiet, traces_dir, depth = options
    try:
        report = prove_table(spec, budget=budget, decided=decided, depth=depth)
    except Disagreement as exc:
        click.echo(f"internal error: {exc}", err=True)
        return ExitCode.INTERNAL
    if names:  # --property: only these are reported
        report = dataclasses.replace(report, proofs=tuple(p for p in report.proofs if p.name in names))
    checks: list[CrossCheck] = []
    problem = None
    try:
        for n in range(1, (cross or 0) + 1):
            progress.stage(f"cross-checking {spec.name}, {n} queue(s)")
            checks.append(crosscheck(spec, n, budget=budget))
    except SolverGaveUp as exc:
        problem = f"the solver gave up during the cross-check: {exc}"
    except OutOfTime as exc:
        problem = f"the cross-check {exc} after {len(checks)} of {cross} queue count(s)"
    unproved = {} if names else _not_proved(spec, spec_name)
    if as_json:
        undecided = any(p.verdict is Verdict.UNKNOWN for p in report.proofs)
        stopped = problem or (TIMEOUT if undecided and budget.expired else None)
        results = [p.to_json(report.spec) for p in report.proofs]
        extra = _document_extra(report) | {"crosscheck": [crosscheck_json(c) for c in checks]}
        print_document("prove", results, stopped=stopped, not_checked=unproved, **extra)
    else:
        out = console()
        if not quiet:
            out.print(proofs_table(report))
            for name, why in unproved.items():
                print_text(out, f"{spec.name}: {name} not checked: {why}")
        if (note := not_issued_note(spec)) is not None:  # every verdict says what the environment left out
            print_text(out, f"{spec.name}: {note}")
        print_failures(out, report)
        if checks and not quiet:
            out.print(crosscheck_table(checks))
        for c in checks:
            for line in c.disagreements:
                print_text(out, f"{c.spec}, {c.queues} queue(s): {line}")
    if traces_dir is not None:
        found = [(len(p.trace.start.queues), p.name, p.trace, p.other) for p in report.proofs if p.trace is not None]
        write_counterexamples(traces_dir, spec, spec_name, found)
    if problem:
        click.echo(f"note: {problem}", err=True)
    return exit_code(report, checks, problem is not None)
