"""What induction leaves open, decided for every N by the support abstraction.

For a table whose queues never influence each other (the support fragment,
``scale/README.md``, "Independent queues"), the support search at the
table's cutoff c decides every check for every N >= c, exactly: its states
are the supports of every reachable state of every N at once. So when a
property is not inductive (or the solver gave up on it), the search found
no violation for N = 1..c-1, and the support search finds none either, the
property holds for every N: :func:`decide` says ``proved``, naming that
argument. When the support search finds a violation, it is one for every
N >= c, shown at N = c by a concrete trace that replays.

This leaves undecided only tables outside the fragment (queues that
influence each other, properties that may need more queues than they name),
where no finite search decides every N.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> Support(load_spec("resolved")).cutoff
1
"""

from __future__ import annotations

from virtio_notifier_spec.scale.search import explore as explore_reduced
from virtio_notifier_spec.spec.fragment import support_cutoff, support_reason
from virtio_notifier_spec.spec.schema import Spec

from .budget import UNLIMITED, Budget
from .result import Proof, Verdict
from .search import MAX_STATES, Search, replays


class Support:
    """The support search of ``spec`` at its cutoff, run once when first asked."""

    def __init__(self, spec: Spec, budget: Budget = UNLIMITED, depth: int | None = None) -> None:
        self.spec = spec
        self.budget = budget
        self.depth = depth  # --depth bounds this search too: a run it cuts decides nothing
        self.refusal = support_reason(spec)
        self.cutoff = support_cutoff(spec) if self.refusal is None else None
        self._run = None

    def run(self):
        if self._run is None:
            limits = {"max_states": MAX_STATES, "timeout": self.budget.remaining(), "depth": self.depth}
            self._run = explore_reduced(self.spec, self.cutoff, symmetry="support", **limits)
        return self._run

    def decide(self, proof: Proof, search: Search) -> Proof:
        """``proof`` (not inductive, or unknown) decided for every N where the
        support search can; otherwise ``proof`` itself."""
        undecided = proof.verdict in (Verdict.NOT_INDUCTIVE, Verdict.UNKNOWN)
        if not undecided or self.cutoff is None or self.budget.expired:
            return proof
        below = self.cutoff - 1
        if search.searched < below:  # the N under the cutoff must each have been searched
            return proof
        run = self.run()
        if run.partial is not None:
            return proof
        exact = f"exact for every N >= {self.cutoff}: the queues are independent (scale/README.md)"
        found = run.counterexamples.get(proof.name)
        if found is not None:
            if not all(replays(self.spec, t) for t in (found.trace, found.other) if t is not None):
                return proof
            message = f"{self.cutoff} queue(s): {found.message} (the support search, {exact})"
            return Proof(proof.name, proof.kind, Verdict.VIOLATED, proof.seconds, message, found.trace, found.other)
        smaller = f"; the {search.method} finds none for N = 1..{below}" if below else ""
        message = (
            f"for every N: the support search finds no violation ({exact}){smaller}; "
            f"induction alone did not prove it ({proof.message.split(';')[0]})"
        )
        seconds = proof.seconds + run.seconds
        return Proof(proof.name, proof.kind, Verdict.PROVED, seconds, message, induction=proof.induction)
