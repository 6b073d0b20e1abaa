"""``--junit FILE`` for ``check`` and ``verify``: the verdicts as JUnit XML.

One test suite per table and queue count, one test case per property (and
hygiene check) in it: a property that holds passes, one that fails is a
failure carrying its shortest trace, one a stopped run did not decide is
skipped with the reason. ``verify`` adds a suite for the proofs of
``resolved`` for every N (each proof's time on its case) and one per
liveness run. Written whatever ends the run, Ctrl-C and ``--timeout``
included, with what was decided (``oracle/junit.py`` writes it; the file
validates against the JUnit schemas CI tools read).
"""

from __future__ import annotations

from collections.abc import Iterable

from virtio_notifier_spec.model.explore import Exploration
from virtio_notifier_spec.model.report import counterexample_text
from virtio_notifier_spec.oracle.junit import Case, Failure, Suite, junit_document
from virtio_notifier_spec.oracle.output import write_whole

from .guard import say


def _not_decided(partial: str | None) -> str:
    return f"not decided: the run stopped early ({partial})"


def exploration_suite(run: Exploration) -> Suite:
    """One run: a case per check, its verdict."""
    classname = f"{run.spec.name}.{run.queues}q"
    cases = []
    for name in run.checks:
        cx = run.counterexamples.get(name)
        if cx is not None:
            cases.append(Case(classname, name, failure=Failure("fails", cx.message, counterexample_text(run, cx))))
        elif run.partial:
            cases.append(Case(classname, name, skipped=_not_decided(run.partial)))
        else:
            cases.append(Case(classname, name))
    properties = (("states", str(run.states)), ("transitions", str(run.transitions)), ("env", run.spec.env))
    return Suite(f"{run.spec.name}, {run.queues} queue(s)", tuple(cases), run.seconds, properties)


def liveness_suite(run) -> Suite:
    """One liveness run (``model/liveness.py``'s ``LivenessRun``)."""
    from virtio_notifier_spec.model.liveness import failure_text

    classname = f"{run.spec.name}.{run.queues}q.liveness"
    cases = []
    for name in run.checks:
        verdict = run.verdict(name)
        if verdict == "fails":
            failure = Failure("fails", run.failures[name].message, failure_text(run, name))
            cases.append(Case(classname, name, failure=failure))
        elif verdict == "holds":
            cases.append(Case(classname, name))
        else:
            cases.append(Case(classname, name, skipped=_not_decided(run.partial)))
    return Suite(f"{run.spec.name}, {run.queues} queue(s), liveness", tuple(cases))


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
    live: Iterable = (),
    not_run: dict[str, list[int]] | None = None,
) -> bool:
    """Write the JUnit file; False (said on stderr) when it cannot be written."""
    suites = [exploration_suite(r) for r in runs]
    if proofs is not None:
        suites.append(proofs_suite(proofs))
    suites += [liveness_suite(r) for r in live]
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
