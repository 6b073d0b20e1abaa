"""Which tables the packed engine serves, decided on the typed expression tree.

The packed engine (:mod:`.packed`) steps a queue by looking up what one
queue does, given the device and the queue's own variables, in a table built
once from the 1-queue machine. That is exact when a queue's row, and the
device's new values, are functions of (device, own queue, the event's
arguments) alone, and when whether the event is offered at all depends on
nothing else either:

- every row's guard and effects read only device variables, the queue's own
  variables and non-queue parameters (:func:`~virtio_notifier_spec.spec.expr.is_local`,
  and no queue index used as a value);
- an event's own effects read only device variables and non-queue parameters;
- an event's ``when`` reads device variables and, for an event that concerns
  one queue, that queue's variables (``pending[queue]``); no quantifier.

Properties are not restricted: :mod:`.vector` evaluates any expression of
the language on packed states. Everything else goes to the general engine.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> packed_refusal(load_spec("resolved")) is None
True
"""

from __future__ import annotations

from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.expr import QUEUE, Expr, Param, Quantifier, Var, is_local, walk
from virtio_notifier_spec.spec.schema import Spec


def _uses_queue_index(expr: Expr) -> bool:
    """True when a queue index is used as a value (``p == queue``)."""
    return any(isinstance(n, Param) and n.type == QUEUE for n in walk(expr))


def _reads_only(expr: Expr, target: str | None) -> bool:
    """True when ``expr`` reads device variables and, at most, the queue ``target``."""
    for node in walk(expr):
        if isinstance(node, Quantifier):
            return False
        if isinstance(node, Var) and node.per_queue and (target is None or node.index != target):
            return False
    return not _uses_queue_index(expr)


class NotPackable(SpecError):
    """The packed engine cannot explore this table exactly (``engine="packed"``)."""


def _refusal(record, field: str, message: str) -> NotPackable:
    source = record.source
    return NotPackable(
        f"{record.name}: {message}; the packed engine cannot explore this table (use --engine general)",
        file=source.file if source else None,
        line=source.line_of(field) if source else None,
        field=field,
    )


def packed_refusal(spec: Spec) -> NotPackable | None:
    """Why the packed engine cannot explore ``spec`` exactly (located), or None when it can."""
    for row in spec.transitions:
        for field, part in [("guard", row.guard), *(("effects", e.value) for e in row.effects)]:
            if part is None:
                continue
            if not is_local(part):
                return _refusal(row, field, "reads another queue")
            if _uses_queue_index(part):
                return _refusal(row, field, "uses a queue index as a value")
    for event in spec.events:
        for effect in event.effects:
            if not _reads_only(effect.value, None):
                return _refusal(event, "effects", "writes the device from a queue's variables")
        if event.when is not None and not _reads_only(event.when, event.target):
            return _refusal(event, "when", "reads more than the device and its target queue")
    return None
