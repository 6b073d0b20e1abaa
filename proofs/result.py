"""What a proof says, and how long it took.

The verdicts, and exactly what each claims:

- ``proved``: for every number of queues, by the written argument
  (``proofs/README.md``) its message names;
- ``violated``: a shortest replayable trace at a concrete N shows it false
  (for a hygiene check: the row, state or sub-formula at fault);
- ``unknown: not inductive``: induction failed (the counterexample to
  induction is shown) and no violation was found by a search of N = 1..K;
- ``bounded``: a hygiene check that holds for N = 1..K only, labelled so;
- ``unknown``: the solver gave up, or ``--timeout`` stopped it;
- ``not applicable``: a hygiene check not asked of a restricted environment
  (``--env``), where a row or a sub-formula may be unreachable without
  being wrong, or ``no_dead_transition`` where the environment does not
  issue some events (their rows are named; every other row is judged);
- ``vacuous``: a property about steps of events the environment does not
  issue: nothing can break it, so nothing was proved (not a pass: exit 3).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from virtio_notifier_spec.model.trace import Trace, format_state
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec


class Verdict(Enum):
    PROVED = "proved"
    VIOLATED = "violated"  # a reachable state (or step) breaks it: a trace shows how
    NOT_INDUCTIVE = "unknown: not inductive"  # no violation found up to `searched` queues
    BOUNDED = "bounded"  # holds for N = 1..searched, not decided beyond
    UNKNOWN = "unknown"  # the solver gave up, or the time ran out
    NOT_APPLICABLE = "not applicable"  # not asked of this environment (a restricted profile)
    VACUOUS = "vacuous"  # about steps of events the environment does not issue: nothing to prove


@dataclass(frozen=True, slots=True)
class Induction:
    """A counterexample to induction: a pre-state satisfying every assumed
    invariant, the event, and the post-state that breaks the property.
    ``pre2``/``post2`` are the second run of a history-freedom property."""

    pre: State
    event: str
    rows: str
    post: State
    pre2: State | None = None
    post2: State | None = None

    def format(self, spec: Spec, indent: str = "  ") -> str:
        lines = [
            f"{indent}pre   {format_state(spec, self.pre)}",
            f"{indent}event {self.event}  [{self.rows}]",
            f"{indent}post  {format_state(spec, self.post)}",
        ]
        if self.pre2 is not None:
            lines += [
                f"{indent}pre'  {format_state(spec, self.pre2)}",
                f"{indent}post' {format_state(spec, self.post2)}",
            ]
        return "\n".join(lines)

    def to_json(self) -> dict:
        found = {"pre": _json(self.pre), "event": self.event, "rows": self.rows, "post": _json(self.post)}
        if self.pre2 is not None:
            found |= {"pre2": _json(self.pre2), "post2": _json(self.post2)}
        return found


def _json(state: State) -> dict:
    return {"device": list(state.device), "queues": [list(q) for q in state.queues]}


@dataclass(frozen=True, slots=True)
class Proof:
    """The verdict on one property or hygiene check, for every number of queues."""

    name: str
    kind: str
    verdict: Verdict
    seconds: float
    message: str = ""
    trace: Trace | None = None
    other: Trace | None = None
    induction: Induction | None = None
    searched: int | None = None  # the search found no violation for N = 1..searched

    @property
    def proved(self) -> bool:
        return self.verdict is Verdict.PROVED

    @property
    def label(self) -> str:
        """The verdict as shown: ``holds for N = 1..4`` for a bounded one."""
        if self.verdict is Verdict.BOUNDED:
            return f"holds for N = 1..{self.searched}" if self.searched and self.searched > 1 else "holds for N = 1"
        return self.verdict.value

    def timed(self, seconds: float) -> Proof:
        return replace(self, seconds=seconds)

    def format(self, spec: Spec) -> str:
        """The verdict and its evidence, as text a reviewer can replay."""
        head = f"{spec.name}: {self.name} {self.label.upper()}"
        if self.message:
            head += f": {self.message}"
        lines = [head]
        if self.trace is not None:
            lines.append(self.trace.format(spec))
        if self.other is not None:
            lines += ["  ... and the other history:", self.other.format(spec)]
        if self.induction is not None:
            lines.append(self.induction.format(spec))
        return "\n".join(lines)

    def to_json(self, spec: Spec) -> dict:
        found: dict = {
            "name": self.name,
            "kind": self.kind,
            "verdict": self.verdict.value,
            "seconds": round(self.seconds, 3),
            "message": self.message,
        }
        if self.searched is not None:
            found["searched_up_to"] = self.searched
        if self.trace is not None:
            found["trace"] = self.trace.to_json(spec)
        if self.other is not None:
            found["other"] = self.other.to_json(spec)
        if self.induction is not None:
            found["induction"] = self.induction.to_json()
        return found


@dataclass(frozen=True, slots=True)
class ProofReport:
    """Every proof of one table: its properties, then its hygiene."""

    spec: Spec
    proofs: tuple[Proof, ...]
    assumed: tuple[str, ...]  # the invariants proved inductive together
    search: str = ""  # how far the finite search went, e.g. "orbit search, N = 1..3"

    @property
    def ok(self) -> bool:
        return all(p.proved or p.verdict is Verdict.NOT_APPLICABLE for p in self.proofs)

    @property
    def violated(self) -> bool:
        return any(p.verdict is Verdict.VIOLATED for p in self.proofs)

    @property
    def vacuous(self) -> tuple[str, ...]:
        """The properties vacuous in this environment (not a pass)."""
        return tuple(p.name for p in self.proofs if p.verdict is Verdict.VACUOUS)

    def get(self, name: str) -> Proof | None:
        return next((p for p in self.proofs if p.name == name), None)
