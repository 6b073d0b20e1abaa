"""Every proof of one table, in the order a reviewer reads them.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> report = prove(load_spec("resolved"))
>>> report.ok, [p.name for p in report.proofs][-4:]
(True, ['deterministic', 'complete', 'no_dead_transition', 'non_vacuous'])
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from virtio_notifier_spec.spec.schema import PropertyKind, Spec

from .hygiene import determinism_and_completeness, witnesses
from .induction import Prover
from .result import Proof, ProofReport

HYGIENE = ("deterministic", "complete", "no_dead_transition", "non_vacuous")


def prove(
    spec: Spec,
    *,
    classify: bool = True,
    only: Collection[str] = (),
    progress: Callable[[Proof], None] | None = None,
) -> ProofReport:
    """Prove every property of ``spec`` for every number of queues, then its
    hygiene. ``classify=False`` skips the search for a trace behind a failed
    proof (the verdict is then "not inductive" or "violated" at the start).
    ``only`` names the checks to report (``prove --property``): every
    invariant is still proved, since the invariants are each other's
    lemmas, but unnamed step, history and hygiene checks are skipped.
    ``progress`` is called with each check as it is decided."""
    wanted = set(only)

    def asked(name: str) -> bool:
        return not wanted or name in wanted

    def done(found: list[Proof]) -> list[Proof]:
        for proof in found:
            if progress is not None:
                progress(proof)
        return found

    prover = Prover(spec, classify=classify)
    proofs = done(prover.prove_invariants())
    for prop in spec.properties:
        if not asked(prop.name):
            continue
        if prop.kind is PropertyKind.STEP:
            proofs += done([prover.prove_step(prop)])
        elif prop.kind is PropertyKind.HISTORY_FREE:
            proofs += done([prover.prove_history(prop)])
    if asked("deterministic") or asked("complete"):
        proofs += done(determinism_and_completeness(spec, prover.assumed))
    if asked("no_dead_transition") or asked("non_vacuous"):
        proofs += done(witnesses(spec))
    reported = tuple(p for p in proofs if asked(p.name))
    return ProofReport(spec, reported, tuple(p.name for p in prover.assumed))
