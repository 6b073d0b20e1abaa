"""Lassos: the counterexample to a property of infinite runs.

A run that breaks a liveness property is infinite, but a finite-state one
can always be shown as a *stem* from a start to some state, then a *cycle*
from that state back to it, repeated for ever. An empty cycle means the run
stays in the last state of the stem for ever (it stutters): nothing the
environment must do is enabled there, and nothing it may do has to happen.
Each step carries its row and letter, as a trace does (:class:`~.trace.Step`).
"""

from __future__ import annotations

from dataclasses import dataclass

from virtio_notifier_spec.spec.schema import Spec

from .trace import Step, Trace, format_state


@dataclass(frozen=True, slots=True)
class Lasso:
    """``stem`` then ``cycle`` for ever; ``premise_at`` is the number of the
    stem's state (0: the start) where the premise held, or of its step
    when ``premise_step``."""

    stem: Trace
    cycle: tuple[Step, ...]
    premise_at: int | None = None
    premise_step: bool = False
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.stem) + len(self.cycle)

    def format(self, spec: Spec, indent: str = "  ") -> str:
        """The stem as a trace, then the cycle numbered on from it.

        >>> from virtio_notifier_spec.spec.load import load_spec
        >>> from virtio_notifier_spec.model.machine import Machine
        >>> spec = load_spec("resolved")
        >>> start = Machine(spec, 1).initial_states()[0]
        >>> print(Lasso(Trace(start, ()), ()).format(spec))
          0. start (a)  limited=false running=true vhost_on=false status=zero | q0 deassigned
          then for ever: nothing happens (the run stays in state 0)
        """
        lines = self.stem.format(spec, indent).splitlines()
        if self.premise_at is not None:
            at = 2 * self.premise_at - 1 if self.premise_step else max(0, 2 * self.premise_at)
            lines[at] += "   <- premise"
        entry = len(self.stem)
        if not self.cycle:
            lines.append(f"{indent}then for ever: nothing happens (the run stays in state {entry})")
        else:
            lines.append(f"{indent}then for ever, back to state {entry}:")
            for number, step in enumerate(self.cycle, start=entry + 1):
                lines.append(f"{indent}{number}. {step.event}  [{step.rows()}]")
                lines.append(f"{indent}   -> {format_state(spec, step.post)}")
        lines += [f"{indent}{note}" for note in self.notes]
        return "\n".join(lines)

    def to_json(self, spec: Spec) -> dict:
        return {
            "stem": self.stem.to_json(spec),
            "cycle": [s.to_json(spec) for s in self.cycle],
            "premise_at": self.premise_at,
            "premise_step": self.premise_step,
            "notes": list(self.notes),
        }
