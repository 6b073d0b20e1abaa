"""Every proof of one table, in the order a reviewer reads them.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> report = prove(load_spec("resolved"))
>>> report.ok, [p.name for p in report.proofs][-4:]
(True, ['deterministic', 'complete', 'no_dead_transition', 'non_vacuous'])
"""

from __future__ import annotations

from virtio_notifier_spec.spec.schema import PropertyKind, Spec

from .hygiene import determinism_and_completeness, witnesses
from .induction import Prover
from .result import ProofReport

HYGIENE = ("deterministic", "complete", "no_dead_transition", "non_vacuous")


def prove(spec: Spec, *, classify: bool = True) -> ProofReport:
    """Prove every property of ``spec`` for every number of queues, then its
    hygiene. ``classify=False`` skips the search for a trace behind a failed
    proof (the verdict is then "not inductive" or "violated" at the start)."""
    prover = Prover(spec, classify=classify)
    proofs = prover.prove_invariants()
    for prop in spec.properties:
        if prop.kind is PropertyKind.STEP:
            proofs.append(prover.prove_step(prop))
        elif prop.kind is PropertyKind.HISTORY_FREE:
            proofs.append(prover.prove_history(prop))
    proofs += determinism_and_completeness(spec, prover.assumed)
    proofs += witnesses(spec)
    return ProofReport(spec, tuple(proofs), tuple(p.name for p in prover.assumed))
