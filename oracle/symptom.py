"""The symptom of a failure: what tells two failures apart, whatever run
reached them.

A divergence's symptom is the event, the rows the spec fires on the queues
that differ, and the variables that differ (without their queue numbers:
``q3.pending`` and ``q0.pending`` are one symptom). Any other failure's is
its kind (crash, timeout, protocol, error, observation, not_enabled) and the
event it happened at. Shrinking keeps a failure's symptom, and reports
group failures by it.

>>> from virtio_notifier_spec.oracle.observation import Mismatch
>>> s = divergence_symptom("reset", [(0, "g", "reset"), (1, "g", "reset")], [Mismatch("q1.pending", False, True)])
>>> s.text()
'reset: the spec fires g (reset); pending differs'
>>> s == divergence_symptom("reset", [(1, "g", "reset")], [Mismatch("q0.pending", False, True)])
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DIVERGENCE = "divergence"


@dataclass(frozen=True, slots=True, order=True)
class Symptom:
    """``kind``; ``event``: the event's name (``start`` for the fresh
    device); ``rows``: the rows the spec fires there, as ``letter (name)``
    or ``name``; ``variables``: the variables that differ."""

    kind: str
    event: str
    rows: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()

    def text(self) -> str:
        if self.kind != DIVERGENCE:
            return f"{self.kind} at {self.event}"
        fires = f"the spec fires {', '.join(self.rows)}" if self.rows else "the spec fires no row"
        verb = "differs" if len(self.variables) == 1 else "differ"
        return f"{self.event}: {fires}; {', '.join(self.variables) or 'nothing'} {verb}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "event": self.event, "rows": list(self.rows), "variables": list(self.variables)}


def variable_of(field: str) -> str:
    """``q3.pending`` -> ``pending``; a device variable stays as it is."""
    head, dot, rest = field.partition(".")
    return rest if dot and head[:1] == "q" and head[1:].isdigit() else field


def queue_of(field: str) -> int | None:
    head, dot, _ = field.partition(".")
    return int(head[1:]) if dot and head[:1] == "q" and head[1:].isdigit() else None


def divergence_symptom(event: str, fired: Iterable[tuple[int, str | None, str]], mismatches: Iterable) -> Symptom:
    """The symptom of a divergence: ``fired`` is (queue, letter, row) for
    each row the spec fires, ``mismatches`` what differs. The rows named
    are those on a queue that differs, or every row when only device
    variables differ."""
    mismatches = list(mismatches)
    fired = list(fired)
    queues = {queue_of(m.field) for m in mismatches} - {None}
    chosen = [(letter, row) for q, letter, row in fired if q in queues] or [(letter, row) for _, letter, row in fired]
    rows = sorted({f"{letter} ({row})" if letter else row for letter, row in chosen})
    variables = sorted({variable_of(m.field) for m in mismatches})
    return Symptom(DIVERGENCE, event, tuple(rows), tuple(variables))
