"""``--junit FILE`` for ``check`` and ``verify``: the verdicts as JUnit XML.

One test suite per table and queue count, one test case per property of
every kind (and hygiene check) in it: a property that holds passes, one
that fails is a failure carrying its shortest trace or its lasso, one a
stopped run did not decide, or this command does not check, is skipped
with the reason. ``verify`` adds a suite for the proofs of the table for
every N (each proof's time on its case). Written whatever ends the run, Ctrl-C and ``--timeout``
included, with what was decided (``oracle/junit.py`` writes it; the file
validates against the JUnit schemas CI tools read).
"""

from __future__ import annotations

from collections.abc import Iterable

from virtio_notifier_spec.model.explore import NOT_CHECKED, Exploration
from virtio_notifier_spec.model.liveness import failure_text
from virtio_notifier_spec.model.report import counterexample_text
from virtio_notifier_spec.oracle.junit import Case, Failure, Suite, junit_document
from virtio_notifier_spec.oracle.output import write_whole

from .guard import say


def _not_decided(partial: str | None) -> str:
    return f"not decided: the run stopped early ({partial})"


def _failure(run: Exploration, name: str) -> Failure:
    """A failing check's message and its shortest trace, or its lasso."""
    cx = run.counterexamples.get(name)
    if cx is not None:
        return Failure("fails", cx.message, counterexample_text(run, cx))
    live = run.liveness_run(name)
    return Failure("fails", live.failures[name].message, failure_text(live, name))


def exploration_suite(run: Exploration) -> Suite:
    """One run: a case per check of every kind, its verdict."""
    classname = f"{run.spec.name}.{run.queues}q"
    cases = []
    for name in run.every_check:
        verdict = run.verdict(name)
        if verdict == "fails":
            cases.append(Case(classname, name, failure=_failure(run, name)))
        elif verdict == "holds":
            cases.append(Case(classname, name))
        elif verdict == NOT_CHECKED:
            cases.append(Case(classname, name, skipped=f"not checked: {run.not_checked[name]}"))
        elif verdict in ("vacuous", "not applicable"):
            cases.append(Case(classname, name, skipped=f"{verdict}: {run.reason(name)}"))
        else:
            cases.append(Case(classname, name, skipped=_not_decided(run.undecided)))
    properties = (("states", str(run.states)), ("transitions", str(run.transitions)), ("env", run.spec.env))
    return Suite(f"{run.spec.name}, {run.queues} queue(s)", tuple(cases), run.seconds, properties)


def proofs_suite(report) -> Suite:
    """The proofs of one table for every N (``proofs/result.py``'s ``ProofReport``)."""
    classname = f"{report.spec.name}.every_n"
    cases = []
    for proof in report.proofs:
        verdict = proof.verdict.value
        if verdict == "proved":
            case = Case(classname, proof.name, seconds=proof.seconds)
        elif verdict == "violated":
            case = Case(classname, proof.name, failure=Failure("violated", proof.message), seconds=proof.seconds)
        else:
            case = Case(classname, proof.name, skipped=f"{verdict}: {proof.message}", seconds=proof.seconds)
        cases.append(case)
    seconds = sum(p.seconds for p in report.proofs)
    return Suite(f"{report.spec.name}, every number of queues (Z3)", tuple(cases), seconds)


def write_junit(
    path: str,
    command: str,
    runs: Iterable[Exploration],
    seconds: float,
    *,
    proofs=None,
    not_run: dict[str, list[int]] | None = None,
) -> bool:
    """Write the JUnit file; False (said on stderr) when it cannot be written."""
    suites = [exploration_suite(r) for r in runs]
    if proofs is not None:
        suites.append(proofs_suite(proofs))
    for variant, sizes in (not_run or {}).items():
        for n in sizes:
            case = Case(f"{variant}.{n}q", "every property", skipped="not run: a run before it stopped early")
            suites.append(Suite(f"{variant}, {n} queue(s)", (case,)))
    try:
        write_whole(path, junit_document(f"virtio-notifier-spec {command}", suites, seconds))
    except OSError as exc:
        say(f"internal error: --junit {path}: {exc.strerror or exc} (the report above is complete)")
        return False
    return True
