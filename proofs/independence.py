"""Independent queues: tables for which one queue decides the hygiene for every N.

A table's queues are *independent* when, on the typed tree of every event
condition (``when``), event effect, row guard and row effect:

1. there is no quantifier and no value of the queue type (no queue literal,
   no queue parameter or ``if`` used as a value, so no comparison of queues
   in any form): a queue is only ever named as the index of a variable;
2. a row reads the device, the event's arguments and its own queue only
   (a per-queue variable bare, or indexed by the event's target);
3. an event with a target reads, in its ``when``, the device and the
   target's variables only, and writes no device variable;
4. an event without a target reads and writes device variables only.

The argument. The device then changes only on events without a target, and
how it changes depends on the device and the arguments alone; a queue
changes by its own rows, which read the device, the arguments and that queue.
So along any run of N queues, the device and one queue j form a run of a
1-queue device (the same untargeted events, and the targeted events of j,
which are enabled there because their ``when`` reads only the device and
j). Conversely a 1-queue run is the projection of an N-queue run in which
every other queue starts like queue 0 and follows the untargeted events.
Hence, for every N >= 1, the reachable pairs (device, queue), and the rows
that fire from each source state with each argument, are exactly those of
1 queue: ``no_dead_transition``, ``complete`` and ``deterministic`` on the
reachable states are decided, for every N, by the 1-queue search.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> independence_refusal(load_spec("resolved")) is None
True
"""

from __future__ import annotations

from virtio_notifier_spec.spec.expr import Expr, IfThenElse, Kind, Literal, Param, Quantifier, Var, walk
from virtio_notifier_spec.spec.schema import Event, Spec


def is_queue_valued(node: Expr) -> bool:
    """True when ``node`` denotes a queue (its type is the queue type)."""
    match node:
        case Literal(type=t) | Param(type=t) | Var(type=t):
            return t.kind is Kind.QUEUE
        case IfThenElse(then=then):
            return is_queue_valued(then)
    return False


def _reads(expr: Expr, event: Event, *, own_queue: bool) -> str | None:
    """What in ``expr`` breaks the fragment, or None."""
    for node in walk(expr):
        if isinstance(node, Quantifier):
            return f"quantifies over queues ({node.kind} {node.var})"
        if is_queue_valued(node):
            return "uses a queue as a value"
        if isinstance(node, Var) and node.per_queue:
            if node.index is None and not own_queue:
                return f"reads {node.name} of a queue"
            if node.index is not None and node.index != event.target:
                return f"reads {node.name}[{node.index}]"
    return None


def independence_refusal(spec: Spec) -> str | None:
    """Why the queues of ``spec`` are not independent (see the module), or
    None when they are."""
    for event in spec.events:
        if event.target is not None and event.effects:
            return f"event {event.name} has a target and writes the device"
        found = _first(f"event {event.name}", "when", event.when, event.effects, event, own_queue=False)
        if found:
            return found
    for row in spec.transitions:
        found = _first(f"row {row.name}", "guard", row.guard, row.effects, spec.event(row.event), own_queue=True)
        if found:
            return found
    return None


def _first(what: str, key: str, condition: Expr | None, effects, event: Event, *, own_queue: bool) -> str | None:
    """What the first of ``condition`` (under ``key``) and ``effects`` breaks."""
    parts = [(key, condition)] if condition is not None else []
    parts += [("effects", e.value) for e in effects]
    for field, expr in parts:
        found = _reads(expr, event, own_queue=own_queue)
        if found:
            return f"{what} ({field}) {found}"
    return None
