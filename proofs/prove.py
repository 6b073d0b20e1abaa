"""Every proof of one table, in the order a reviewer reads them.

First Z3, for every number of queues: the properties by induction
(:mod:`.induction`), the guards over the states the proved invariants allow
(:mod:`.hygiene`). Then one finite search (:mod:`.search`), N = 1, 2, ...,
shared by everything Z3 left open: a trace for each failed proof, a
reachable state for each guard problem, the rows that fire, a witness for
each sub-formula (:mod:`.vacuity`). It stops as soon as every question is
answered, or at its bound.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> report = prove(load_spec("resolved"))
>>> report.ok, [p.name for p in report.proofs][-4:]
(True, ['deterministic', 'complete', 'no_dead_transition', 'non_vacuous'])
"""

from __future__ import annotations

from collections.abc import Callable

from virtio_notifier_spec.spec.profile import vacuous
from virtio_notifier_spec.spec.schema import PropertyKind, Spec

from .budget import Budget, OutOfTime
from .hygiene import VacuityCheck, dead_verdict, guard_checks, guard_verdict
from .independence import independence_refusal
from .induction import Disagreement, Failure, Outcome, Prover, classify
from .result import Proof, ProofReport, Verdict
from .search import Search
from .support import Support

HYGIENE = ("deterministic", "complete", "no_dead_transition", "non_vacuous")


def prove(
    spec: Spec,
    *,
    timeout: float | None = None,
    budget: Budget | None = None,
    decided: Callable[[Proof], None] | None = None,
    depth: int | None = None,
    by_support: bool = True,
) -> ProofReport:
    """Prove every property of ``spec`` for every number of queues, then its
    hygiene, within ``timeout`` seconds (or ``budget``); what the time did
    not decide is ``unknown``. Raises :class:`~.induction.Disagreement` when
    Z3 and the search contradict each other (a bug, never a verdict).
    ``decided`` is told each property's proof as soon as it is final, so
    that a run stopped by Ctrl-C can say what it had proved. ``depth``
    bounds the search behind what induction leaves open (a run it cuts ends
    the search, and a verdict resting on it says so). ``by_support``: what
    induction leaves open is decided for every N by the support search where
    the queues are independent (:mod:`.support`); False keeps it undecided,
    with its counterexample to induction (the tests of that path)."""
    budget = budget if budget is not None else Budget(timeout)
    prover = Prover(spec, budget)
    outcomes: list[Outcome] = prover.prove_invariants()
    _tell(decided, outcomes)
    for prop in spec.properties:
        if prop.kind is PropertyKind.INVARIANT:
            continue
        if (why := vacuous(spec, prop)) is not None:  # no step to judge: "proved" would say nothing
            outcomes.append(Proof(prop.name, prop.kind.value, Verdict.VACUOUS, 0.0, why))
        elif prop.kind is PropertyKind.STEP:
            outcomes.append(prover.prove_step(prop))
        else:
            outcomes.append(prover.prove_history(prop))
        _tell(decided, outcomes[-1:])
    guards = guard_checks(spec, prover.assumed, budget)
    proved = [spec_prop for spec_prop in spec.properties if _proved(outcomes, spec_prop.name)]
    vacuity = VacuityCheck(proved)
    search = Search(spec, vacuity.extra, budget=budget, depth=depth)
    independent = independence_refusal(spec)

    wanted = {o.name for o in outcomes if isinstance(o, Failure)}
    wanted |= {g.name for g in guards if g.problems}

    def rows_decided() -> bool:  # one queue decides them, or a dead row was found
        if independent is None or search.searched >= search.bound:
            return search.searched >= 1
        return any(search.complete_run(n).dead for n in range(1, search.searched + 1))

    def done() -> bool:
        return rows_decided() and all(search.first(name) for name in wanted) and not vacuity.unwitnessed(search)

    search.extend(done, upto=1)  # one queue answers most questions
    stopped = None
    try:
        vacuity.settle(prover, vacuity.unwitnessed(search), induction=False)
        search.extend(done)
        vacuity.settle(prover, vacuity.unwitnessed(search), induction=True)
    except OutOfTime as exc:
        stopped = str(exc)

    support = Support(spec, budget, depth) if by_support else None  # where queues are independent: every N
    proofs = [o if isinstance(o, Proof) else classify(o, search, prover.assumed) for o in outcomes]
    if support is not None:
        proofs = [support.decide(p, search) if p.name in wanted else p for p in proofs]
    proofs += [guard_verdict(g, search, independent) for g in guards]
    proofs.append(dead_verdict(search, independent))
    if stopped is not None:
        proofs.append(Proof("non_vacuous", "hygiene", Verdict.UNKNOWN, vacuity.seconds, stopped))
    else:
        judged = {p.name: p.verdict for p in proofs if p.kind != "hygiene" and _has_expr(spec, p.name)}
        late = [p.name for p in proofs if p.proved and p.name in judged and p.name not in {q.name for q in proved}]
        proofs.append(vacuity.verdict(search, judged, late))
    _agree(proofs, search)
    return ProofReport(spec, tuple(proofs), tuple(p.name for p in prover.assumed), f"{search.method}, {search.span()}")


def _tell(decided: Callable[[Proof], None] | None, outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if decided is not None and isinstance(outcome, Proof):
            decided(outcome)


def _has_expr(spec: Spec, name: str) -> bool:
    return any(p.name == name and p.expr is not None for p in spec.properties)


def _proved(outcomes: list[Outcome], name: str) -> bool:
    return any(isinstance(o, Proof) and o.name == name and o.proved for o in outcomes)


def _agree(proofs: list[Proof], search: Search) -> None:
    """Nothing proved for every N may have a counterexample in the search."""
    for proof in proofs:
        if proof.proved and proof.name != "no_dead_transition" and search.first(proof.name) is not None:
            n, cex = search.first(proof.name)
            raise Disagreement(
                f"{proof.name} is proved for every N, but the {search.method} at {n} queue(s) says: {cex.message}"
            )
