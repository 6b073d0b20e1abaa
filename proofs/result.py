"""What a proof says: proved, a real violation (with a trace), or not inductive
(with the counterexample to induction), and how long it took."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from virtio_notifier_spec.model.trace import Trace, format_state
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec


class Verdict(Enum):
    PROVED = "proved"
    VIOLATED = "violated"  # a reachable state (or step) breaks it: a trace shows how
    NOT_INDUCTIVE = "not inductive"  # no violation found, but a lemma is missing
    UNKNOWN = "unknown"  # the solver gave up
    NOT_APPLICABLE = "not applicable"  # not asked of this environment (a restricted profile)


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

    @property
    def proved(self) -> bool:
        return self.verdict is Verdict.PROVED

    def format(self, spec: Spec) -> str:
        """The verdict and its evidence, as text a reviewer can replay."""
        head = f"{spec.name}: {self.name} {self.verdict.value.upper()}"
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

    @property
    def ok(self) -> bool:
        return all(p.proved or p.verdict is Verdict.NOT_APPLICABLE for p in self.proofs)

    def get(self, name: str) -> Proof | None:
        return next((p for p in self.proofs if p.name == name), None)
