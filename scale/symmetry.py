"""Queue symmetry: when the queues of a device are interchangeable, and the
canonical forms the reduced explorer stores.

The table instantiates every event over every queue and its properties only
quantify over queues, so renaming the queues of a reachable state gives a
reachable state with the same verdicts. That is the claim the reduction
rests on, and :func:`symmetry_refusal` checks it on the records: a table
that names a fixed queue (a queue literal), or an event with a queue
parameter other than its target, is refused with an error naming where.

A reduced state stores, instead of N queue tuples, how many queues hold each
distinct tuple: ``Counted(device, ((queue tuple, count), ...))`` sorted by
tuple, one canonical value per orbit of the permutation group.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> symmetry_refusal(load_spec("resolved")) is None
True
>>> counted(((1,), (0,), (1,)))
(((0,), 1), ((1,), 2))
>>> orbit_size((((0,), 1), ((1,), 2)))
3
"""

from __future__ import annotations

from collections import Counter
from math import factorial

from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.expr import QUEUE, Compare, Kind, Literal, Param, Quantifier, Var, is_local, walk
from virtio_notifier_spec.spec.schema import Spec


class SymmetryError(SpecError):
    """The table breaks the symmetry between queues: reduction would be unsound."""


def _expressions(spec: Spec):
    """(where, field, expression) for every expression of the table."""
    for event in spec.events:
        if event.when is not None:
            yield event, "when", event.when
        for effect in event.effects:
            yield event, "effects", effect.value
    for row in spec.transitions:
        if row.guard is not None:
            yield row, "guard", row.guard
        for effect in row.effects:
            yield row, "effects", effect.value
    for prop in spec.properties:
        if prop.expr is not None:
            yield prop, "expr", prop.expr


def _error(record, field: str, message: str) -> SymmetryError:
    source = record.source
    return SymmetryError(
        f"{record.name}: {message}; queue symmetry reduction would be unsound (use --no-symmetry)",
        file=source.file if source else None,
        line=source.line if source else None,
        field=field,
    )


def symmetry_refusal(spec: Spec) -> SymmetryError | None:
    """Why the queues of ``spec`` are not interchangeable, or None when they are.

    Sound when every expression reads queues only through the queue in
    context, a quantifier or the event's target (never a fixed queue), and
    every event has at most one queue parameter: its target.
    """
    for record, field, expr in _expressions(spec):
        for node in walk(expr):
            if isinstance(node, Literal) and node.type.kind is Kind.QUEUE:
                return _error(record, field, f"names the fixed queue {node.value}")
    for event in spec.events:
        queue_params = [p.name for p in event.params if p.type == QUEUE]
        if queue_params and queue_params != [event.target]:
            return _error(event, "params", "has a queue parameter that is not its target")
    return None


def _compares_queues(expr) -> bool:
    """True when ``expr`` compares two queue indices (``p == q``): a count
    of 1 and of 2 in one class can then be told apart."""
    for node in walk(expr):
        if isinstance(node, Compare):
            for side in (node.left, node.right):
                if isinstance(side, Param) and side.type == QUEUE:
                    return True
    return False


def needs_full_witness(spec: Spec) -> bool:
    """True when some expression tells queues of one class apart (it
    compares queue indices): the reduced explorer then evaluates on every
    queue instead of one representative per class."""
    return any(_compares_queues(expr) for _, _, expr in _expressions(spec))


def support_refusal(spec: Spec) -> str | None:
    """Why the support abstraction (which queue tuples are present, not how
    many) cannot decide ``spec`` for large N, or None when it can.

    It needs: rows that read only the device and their own queue
    (``is_local``), environment conditions of per-queue events that read
    only the device and the target, no per-queue event writing the device,
    conditions of device-wide events that read only the device, and no
    expression comparing queue indices. Then a run can be projected onto
    one queue per class and any class can be padded with copies, so the
    set of (device, classes present) reachable with N queues is the same
    for every N at or above the cutoff the abstraction reports.
    """
    if needs_full_witness(spec):
        return "an expression compares queue indices"
    for row in spec.transitions:
        parts = [row.guard] if row.guard is not None else []
        parts += [e.value for e in row.effects]
        if not all(is_local(p) for p in parts):
            return f"row {row.name} reads another queue"
    for event in spec.events:
        if event.target is not None and event.effects:
            return f"the per-queue event {event.name} writes device variables"
        for effect in event.effects:
            if any(isinstance(n, Var) and n.per_queue for n in walk(effect.value)):
                return f"event {event.name} writes the device from a queue's variables"
        if event.when is None:
            continue
        for node in walk(event.when):
            if isinstance(node, Quantifier):
                return f"the condition of {event.name} quantifies over queues"
            if isinstance(node, Var) and node.per_queue and (event.target is None or node.index != event.target):
                return f"the condition of {event.name} reads a queue other than its target"
    return None


# -- canonical forms -----------------------------------------------------------


def counted(queues) -> tuple[tuple[tuple, int], ...]:
    """The queues as (tuple, how many queues hold it), sorted: one value per orbit."""
    return tuple(sorted(Counter(queues).items()))


def expand(counts) -> tuple[tuple, ...]:
    """The representative concrete queues of a counted form, in sorted order."""
    return tuple(t for t, n in counts for _ in range(n))


def orbit_size(counts) -> int:
    """How many concrete states share this counted form: N! / prod(count!)."""
    size = factorial(sum(n for _, n in counts))
    for _, n in counts:
        size //= factorial(n)
    return size
