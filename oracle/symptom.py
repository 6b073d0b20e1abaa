"""The symptom of a failure: its cause, whatever run reached it and however
many queues it touched.

A divergence's symptom is the event, the **first variable that differs**
(in the table's order: the device's variables, then the queue's, then the
oracle's ``handled``) and the **row the spec fires** where it differs (on
the queue that differs; when several do with different rows, the first of
them in the table). That is what tells two causes apart: the same missing
drain shows ``pending`` at ``g (reset)`` whether one queue or three had a
kick waiting and whether ``handled`` was observed too, while two rows of
one event that go wrong on different variables are two causes. The other
variables that differ are shown beside it, not part of it.

Any other failure (crash, timeout, protocol, error, not_enabled) is its
kind, the event, and the row the spec fires there (the first in the
table's order that changes something): a crash when KVM refuses an
ioeventfd is not the crash of a status write the device handles. An
observation that does not fit (a field missing, a value of the wrong type)
is the field, its queue number aside, whatever the event. A device variable that differs (``status``, ``running``) is
named without a row: the event's own effect sets it.

Queue numbers are never part of it: ``q3.pending`` and ``q0.pending`` at
the same row are one symptom. Shrinking keeps a failure's symptom, and
reports group failures by it.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.oracle.observation import Mismatch
>>> causes = Causes(load_spec("resolved"))
>>> s = causes.divergence("reset", [(0, "g", "reset"), (1, "g", "reset")],
...                       [Mismatch("q1.handled", True, False), Mismatch("q1.pending", False, True)])
>>> s.text()
'reset: pending differs where the spec fires g (reset)'
>>> s == causes.divergence("reset", [(0, "g", "reset")], [Mismatch("q0.pending", False, True)])
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from virtio_notifier_spec.spec.schema import Spec

DIVERGENCE = "divergence"
OBSERVATION = "observation"
NO_ROW = "-"  # a queue variable differs on a queue the event does not concern
START = "start"
_INDEX = re.compile(r"\[\d+\]|(?<=\.)\d+(?=\.|$)")


@dataclass(frozen=True, slots=True, order=True)
class Symptom:
    """``kind``; ``event``: the event's name (``start`` for the fresh
    device); ``row``: the row the spec fires where it differs, as ``letter
    (name)`` or ``name`` (empty: none, or a device variable); ``variable``:
    the first variable that differs (empty for a failure that is not a
    divergence)."""

    kind: str
    event: str
    row: str = ""
    variable: str = ""

    def text(self) -> str:
        if self.kind == OBSERVATION:
            return f"observation: {self.variable} (at any event)"
        if self.kind != DIVERGENCE:
            where = f" where the spec fires {self.row}" if self.row else ""
            return f"{self.kind} at {self.event}{where}"
        if self.event == START:
            return f"start: {self.variable} differs on the fresh device"
        if self.row == NO_ROW:
            return (
                f"{self.event}: {self.variable} differs on a queue the event leaves alone (the spec fires no row there)"
            )
        where = f"where the spec fires {self.row}" if self.row else "(the event's own effect)"
        return f"{self.event}: {self.variable} differs {where}"

    def to_json(self) -> dict:
        """``row`` and ``variable`` (null: none); ``rows`` and ``variables``
        say the same as lists of at most one, the shape of version 1."""
        row, variable = self.row or None, self.variable or None
        return {
            "kind": self.kind,
            "event": self.event,
            "row": row,
            "variable": variable,
            "rows": [row] if row else [],
            "variables": [variable] if variable else [],
        }


def variable_of(field: str) -> str:
    """``q3.pending`` -> ``pending``; a device variable stays as it is."""
    head, dot, rest = field.partition(".")
    return rest if dot and head[:1] == "q" and head[1:].isdigit() else field


def queue_of(field: str) -> int | None:
    head, dot, _ = field.partition(".")
    return int(head[1:]) if dot and head[:1] == "q" and head[1:].isdigit() else None


def row_label(letter: str | None, row: str) -> str:
    return f"{letter} ({row})" if letter else row


class Causes:
    """Symptoms for one table: it knows the order of its variables and rows."""

    def __init__(self, spec: Spec) -> None:
        names = [v.name for v in spec.device_variables] + [v.name for v in spec.queue_variables] + ["handled"]
        self.order = {name: n for n, name in enumerate(names)}
        self.rank = {t.name: n for n, t in enumerate(spec.transitions)}
        self.quiet = {t.name for t in spec.transitions if t.quiet}

    def first_variable(self, mismatches: Iterable) -> str:
        names = {variable_of(m.field) for m in mismatches}
        return min(names, key=lambda n: (self.order.get(n, len(self.order)), n)) if names else ""

    def divergence(self, event: str, fired: Iterable[tuple[int, str | None, str]], mismatches: Iterable) -> Symptom:
        """``fired``: (queue, letter, row) for each row the spec fires;
        ``mismatches``: what differs."""
        mismatches = list(mismatches)
        variable = self.first_variable(mismatches)
        queues = {queue_of(m.field) for m in mismatches if variable_of(m.field) == variable}
        if queues == {None}:  # a device variable: the event's own effect sets it
            return Symptom(DIVERGENCE, event, "", variable)
        rows = [(self.rank.get(row, len(self.rank)), row_label(letter, row)) for q, letter, row in fired if q in queues]
        return Symptom(DIVERGENCE, event, min(rows)[1] if rows else NO_ROW, variable)

    def failure(self, kind: str, event: str, fired: Iterable[tuple[int, str | None, str]] = ()) -> Symptom:
        """A failure that is not a divergence, at ``event``, where the spec fires ``fired``."""
        rows = sorted(
            ((row in self.quiet, self.rank.get(row, len(self.rank))), row_label(letter, row))
            for _, letter, row in fired
        )
        return Symptom(kind, event, rows[0][1] if rows else "")

    @staticmethod
    def observation(field: str) -> Symptom:
        """An observation that does not fit, at ``field`` (e.g. ``observed.queues[3].pending``).

        >>> Causes.observation("observed.queues[3].pending").text()
        'observation: observed.queues[*].pending (at any event)'
        """
        return Symptom(OBSERVATION, "", "", _INDEX.sub(lambda m: "[*]" if m.group().startswith("[") else "*", field))

    def also(self, symptom: Symptom, mismatches: Iterable) -> tuple[str, ...]:
        """The other variables that differ, in the table's order."""
        names = {variable_of(m.field) for m in mismatches} - {symptom.variable}
        return tuple(sorted(names, key=lambda n: (self.order.get(n, len(self.order)), n)))
