"""Which tables each queue-symmetry reduction is exact for, decided once, on
the typed and resolved records (``scale/README.md`` writes the arguments out).

Three fragments, each a condition on a :class:`~.schema.Spec`:

- **symmetric** (the orbit reduction): no expression names a fixed queue
  and no event has a queue parameter other than its target, so renaming
  the queues maps runs to runs with the same verdicts
  (:func:`symmetry_reason`).
- **indistinguishable copies** (the orbit search's one witness queue per
  class): no expression compares two queues, in any form: a comparison
  whose operands are queues however they are written (through ``if``,
  nested) or a queue-valued ``if``. Without a comparison no expression can
  count queues, so one queue per class decides what the whole class does
  (:func:`witness_reason`). Outside it the orbit search steps every queue.
- **independent queues** (the support abstraction): symmetric, no queue
  comparison, every row reads only the device and its own queue, every
  ``when`` and device effect reads only the device and the event's target,
  per-queue events write no device variable, and every queue quantifier
  of a property is universal (read positively). Queues then never
  influence each other and a violation needs only as many queues as the
  property names: :func:`check_cutoffs`, :func:`support_cutoff`
  (:func:`support_reason`).

A table outside a fragment gets a :class:`Reason`: the record, the field,
where it was written and what breaks the argument. Every layer above
``spec`` asks here; none decides on its own.

>>> from .load import load_spec
>>> spec = load_spec("resolved")
>>> symmetry_reason(spec) is None, witness_reason(spec) is None, support_reason(spec) is None
(True, True, True)
>>> support_cutoff(spec)
1
>>> from .parse import parse_expr
>>> from .resolve import Context
>>> from .resolve import resolve_bool
>>> hidden = resolve_bool(parse_expr("forall p: forall q: (if true then p else p) != q"), Context({}, {}, {}))
>>> from .text import to_text
>>> to_text(queue_comparison(hidden))
'(if true then p else p) != q'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .errors import SpecError
from .expr import BOOL, QUEUE, BoolOp, Compare, Expr, IfThenElse, Kind, Literal, Not, Param, Quantifier, Type, Var, walk
from .schema import Event, Fairness, Liveness, Property, PropertyKind, Spec, Transition
from .stutter import stutter_witness
from .text import to_text

#: The table's own checks besides its properties; each is decided per queue.
HYGIENE = ("deterministic", "complete", "no_dead_transition")


class FragmentError(SpecError):
    """A reduction was asked for a table outside its fragment."""


class SymmetryError(FragmentError):
    """The table breaks the symmetry between queues: any reduction by it would be unsound."""


class SupportError(FragmentError):
    """The table is outside the support abstraction's fragment."""


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a table is outside a fragment: ``what`` (``row reset``, ``event
    kick``, ``property p``), the field, where it was written, and why."""

    what: str
    field: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        return str(self.error(FragmentError))

    def error(self, kind: type[FragmentError], suffix: str = "") -> FragmentError:
        """The reason as a located error of ``kind``, ``suffix`` appended to its message."""
        return kind(f"{self.what}: {self.message}{suffix}", file=self.file, line=self.line, field=self.field)


# -- where the expressions are ------------------------------------------------

Record = Event | Transition | Property


@dataclass(frozen=True, slots=True)
class Site:
    """One expression of the table and where it sits."""

    record: Record
    section: str  # "events", "transitions", "properties"
    key: str  # "when", "effects", "guard", "expr"
    expr: Expr

    def reason(self, message: str) -> Reason:
        kind = {"events": "event", "transitions": "row", "properties": "property"}[self.section]
        source = self.record.source
        return Reason(
            f"{kind} {self.record.name}",
            f"{self.section}.{self.key}",
            message,
            source.file if source else None,
            source.line_of(self.key) if source else None,
        )


def sites(spec: Spec) -> Iterator[Site]:
    """Every expression of the table: events' ``when`` and effects, rows'
    guards and effects, properties."""
    for event in spec.events:
        if event.when is not None:
            yield Site(event, "events", "when", event.when)
        for effect in event.effects:
            yield Site(event, "events", "effects", effect.value)
    for row in spec.transitions:
        if row.guard is not None:
            yield Site(row, "transitions", "guard", row.guard)
        for effect in row.effects:
            yield Site(row, "transitions", "effects", effect.value)
    for prop in spec.properties:
        if prop.expr is not None:
            yield Site(prop, "properties", "expr", prop.expr)


# -- types and polarity ---------------------------------------------------------


def type_of(node: Expr) -> Type:
    """The type of a resolved expression.

    >>> type_of(IfThenElse(Literal(True, BOOL), Param("p", QUEUE), Param("q", QUEUE))).name
    'queue'
    """
    match node:
        case Literal(type=t) | Var(type=t) | Param(type=t):
            return t
        case IfThenElse(then=then):
            return type_of(then)
    return BOOL


def _is_queue(node: Expr) -> bool:
    return type_of(node).kind is Kind.QUEUE


def queue_comparison(expr: Expr) -> Expr | None:
    """The first node of ``expr`` that tells two queues apart: a comparison
    whose operands are queues however they are written, or a queue-valued
    ``if``; None when there is none."""
    for node in walk(expr):
        if isinstance(node, Compare) and (_is_queue(node.left) or _is_queue(node.right)):
            return node
        if isinstance(node, IfThenElse) and _is_queue(node):
            return node
    return None


def non_universal(expr: Expr, polarity: int = 1) -> Quantifier | None:
    """A queue quantifier of ``expr`` that is not universal: ``exists`` read
    positively, ``forall`` read negatively, or either read both ways (under
    ``==``, ``!=`` or in the condition of an ``if``). ``polarity`` is 1
    (positive), -1 (negated) or 0 (both).

    >>> from .parse import parse_expr
    >>> from .resolve import Context, resolve_bool
    >>> def q(text):
    ...     found = non_universal(resolve_bool(parse_expr(text), Context({}, {}, {})))
    ...     return found and to_text(found)
    >>> q("forall p: true"), q("not (exists p: true)"), q("(exists p: true) => false")
    (None, None, None)
    >>> q("exists p: true"), q("(forall p: true) == true")
    ('exists p: true', 'forall p: true')
    """
    match expr:
        case Quantifier(kind=kind, body=body):
            universal = (kind == "forall" and polarity == 1) or (kind == "exists" and polarity == -1)
            return non_universal(body, polarity) if universal else expr
        case Not(operand=operand):
            return non_universal(operand, -polarity)
        case BoolOp(op="=>", left=left, right=right):
            return non_universal(left, -polarity) or non_universal(right, polarity)
        case BoolOp(left=left, right=right):
            return non_universal(left, polarity) or non_universal(right, polarity)
        case Compare(left=left, right=right):
            return non_universal(left, 0) or non_universal(right, 0)
        case IfThenElse(cond=cond, then=then, orelse=orelse):
            return non_universal(cond, 0) or non_universal(then, polarity) or non_universal(orelse, polarity)
    return None


def _binders(expr: Expr) -> int:
    return sum(1 for node in walk(expr) if isinstance(node, Quantifier))


# -- the fragments ----------------------------------------------------------------


def symmetry_reason(spec: Spec) -> Reason | None:
    """Why the queues of ``spec`` are not interchangeable, or None when they are.

    Sound when every expression reads queues only through the queue in
    context, a quantifier or the event's target (never a fixed queue), and
    every event has at most one queue parameter: its target.
    """
    for site in sites(spec):
        for node in walk(site.expr):
            if isinstance(node, Literal) and node.type.kind is Kind.QUEUE:
                return site.reason(f"names the fixed queue {node.value}")
    for event in spec.events:
        queue_params = [p.name for p in event.params if p.type == QUEUE]
        if queue_params and queue_params != [event.target]:
            source = event.source
            return Reason(
                f"event {event.name}",
                "events.params",
                "has a queue parameter that is not its target",
                source.file if source else None,
                source.line if source else None,
            )
    return None


def witness_reason(spec: Spec) -> Reason | None:
    """Why one queue cannot stand for a class of identical queues: the first
    expression that compares queues (:func:`queue_comparison`); None when
    none does."""
    for site in sites(spec):
        node = queue_comparison(site.expr)
        if node is not None:
            return site.reason(f"compares queues ({to_text(node)}), so it can tell identical queues apart")
    return None


def _reads_other_queue(expr: Expr, own: str | None) -> Expr | None:
    """A quantifier, or a read of a queue other than ``own`` (the target
    parameter; None: only the queue in context for rows)."""
    for node in walk(expr):
        if isinstance(node, Quantifier):
            return node
        if isinstance(node, Var) and node.per_queue and node.index is not None and node.index != own:
            return node
    return None


def _reads_queues(expr: Expr, target: str | None) -> Expr | None:
    """A quantifier, or a read of any queue but the event's ``target``."""
    for node in walk(expr):
        if isinstance(node, Quantifier):
            return node
        if isinstance(node, Var) and node.per_queue and (target is None or node.index != target):
            return node
    return None


def _local_site_reason(site: Site, events: dict[str, Event]) -> Reason | None:
    """Why a row, ``when`` or device effect lets one queue influence another."""
    record = site.record
    if site.section == "transitions":
        node = _reads_other_queue(site.expr, events[record.event].target)
        if node is not None:
            return site.reason(
                f"reads {to_text(node)}: a row may read only the device and its own queue, "
                "or queues would depend on each other"
            )
    elif site.section == "events":
        node = _reads_queues(site.expr, record.target)
        if node is not None:
            whose = "the device and its target" if record.target else "the device"
            return site.reason(f"reads {to_text(node)}: an event's {site.key} may read only {whose}")
    return None


def _writes_device(event: Event) -> Reason | None:
    if event.target is None or not event.effects:
        return None
    source = event.source
    return Reason(
        f"event {event.name}",
        "events.effects",
        "a per-queue event writes device variables: one queue would change what all the others do",
        source.file if source else None,
        source.line_of("effects") if source else None,
    )


def local_reason(spec: Spec) -> Reason | None:
    """Why the queues of ``spec`` may influence each other, or None when they
    never do: symmetric, every row reads only the device and its own queue,
    every ``when`` and device effect only the device and the event's target,
    and no per-queue event writes the device (conditions 1-3 of the support
    fragment, ``scale/README.md``; the properties are not asked)."""
    found = symmetry_reason(spec)
    if found is not None:
        return found
    events = {e.name: e for e in spec.events}
    for site in sites(spec):
        found = _local_site_reason(site, events)
        if found is not None:
            return found
    return next((r for e in spec.events if (r := _writes_device(e)) is not None), None)


def support_reason(spec: Spec) -> Reason | None:
    """Why queues of ``spec`` may influence each other or a property may need
    unboundedly many of them, or None when the support abstraction is exact
    for it from :func:`support_cutoff` queues on (``scale/README.md``)."""
    found = symmetry_reason(spec) or witness_reason(spec)
    if found is not None:
        return found
    events = {e.name: e for e in spec.events}
    for site in sites(spec):
        if site.section != "properties":
            found = _local_site_reason(site, events)
            if found is not None:
                return found
        elif site.record.kind is not PropertyKind.HISTORY_FREE:
            node = non_universal(site.expr)
            if node is not None:
                return site.reason(
                    f"{node.kind} {node.var} is not universal: a violation may need more queues than the property names"
                )
    return next((r for e in spec.events if (r := _writes_device(e)) is not None), None)


def check_cutoffs(spec: Spec) -> dict[str, int]:
    """For every check, how many queues a violation needs at most (for a
    table of the support fragment): a per-queue invariant its own queue plus
    one per quantifier; a step property one per quantifier plus the target
    of a per-queue event; history freedom one, or two for a per-queue event
    (the target and a queue it leaves alone); the hygiene checks one.
    Its verdict is then the same for every N at or above that number.

    >>> from .load import load_spec
    >>> set(check_cutoffs(load_spec("resolved")).values())
    {1}
    """
    found: dict[str, int] = {}
    targeted = {e.name for e in spec.events if e.target is not None}
    for prop in spec.properties:
        if prop.kind is PropertyKind.INVARIANT:
            need = int(prop.per_queue) + _binders(prop.expr)
        elif prop.kind is PropertyKind.STEP:
            need = _binders(prop.expr) + int(any(e in targeted for e in prop.events))
        else:  # a queue the step changes, or one it leaves alone beside the target
            need = 1 + int(any(e in targeted for e in prop.events))
        found[prop.name] = max(1, need)
    return found | dict.fromkeys(HYGIENE, 1)


def support_cutoff(spec: Spec) -> int:
    """The queue count from which the support abstraction's verdicts on
    ``spec`` are exact for every N: the largest of :func:`check_cutoffs`.
    Raises :class:`SupportError` for a table outside the fragment."""
    reason = support_reason(spec)
    if reason is not None:
        raise reason.error(SupportError, "; the support abstraction would be unsound")
    return max(check_cutoffs(spec).values())


# -- liveness on one queue ----------------------------------------------------------


def _liveness_reason(prop: Liveness, key: str, message: str) -> Reason:
    source = prop.source
    return Reason(
        f"property {prop.name}",
        f"properties.{key}",
        message,
        source.file if source else None,
        source.line_of(key) if source else None,
    )


def _other_queue_read(spec: Spec, prop: Liveness) -> Expr | None:
    """A quantifier, or a read of a queue that is neither the property's own
    (bare names) nor, for a premise whose events all concern one queue, the
    step's target."""
    targets = {e.target for e in spec.events if e.name in prop.events}
    for expr in (prop.premise, prop.goal):
        for node in walk(expr) if expr is not None else ():
            if isinstance(node, Quantifier):
                return node
            indexed = isinstance(node, Var) and node.per_queue and node.index is not None
            if indexed and (prop.per_queue or targets != {node.index}):
                return node
    return None


def projection_reason(spec: Spec, prop: Liveness) -> Reason | None:
    """Why the one-queue machine does not decide ``prop`` for every N, or
    None when it does (the argument is ``scale/liveness.py``'s docstring).
    Its conditions, each checked here on the typed records:

    1. the queues never influence each other (:func:`local_reason`);
    2. no per-queue event is strongly fair (lifting a one-queue run must
       keep the other queues' promises by taking their events when enabled);
    3. ``prop`` is ``deadlock_free``, or reads the device and one queue only:
       its own (bare names), or the step's target when every event of its
       step premise concerns one queue; no quantifier;
    4. a per-queue property whose premise is a step of a per-queue event:
       the premise is false on every step that changes neither the device
       nor the followed queue (:func:`~.stutter.stutter_witness`). Another
       queue's step is such a step, and one queue alone never takes it.
    """
    found = local_reason(spec)
    if found is not None:
        return found
    strong = [e.name for e in spec.events if e.target is not None and e.fairness is Fairness.STRONG]
    if strong:
        event = spec.event(strong[0])
        source = event.source
        return Reason(
            f"event {event.name}",
            "events.fairness",
            "is strongly fair per queue: a run of one queue cannot be lifted to N keeping every queue's promise",
            source.file if source else None,
            source.line_of("fairness") if source else None,
        )
    if prop.kind is PropertyKind.DEADLOCK_FREE:
        return None
    node = _other_queue_read(spec, prop)
    if node is not None:
        key = "from" if prop.premise is not None and any(n is node for n in walk(prop.premise)) else "to"
        return _liveness_reason(prop, key, f"reads {to_text(node)}: more than the device and one queue")
    targeted = [e for e in spec.events if e.name in prop.events and e.target is not None]
    if prop.per_queue and targeted:
        params = {p.name: p.type for e in targeted for p in e.params}
        witness = stutter_witness(spec, prop.premise, params)
        if witness is not None:
            names = ", ".join(e.name for e in targeted)
            return _liveness_reason(
                prop,
                "from",
                f"its premise is a step of {names}, which concerns one queue, and it can hold on another "
                f"queue's step, which changes neither the device nor this queue (when {witness}): "
                "one queue alone never takes such a step",
            )
    return None


def orbit_reason(spec: Spec, prop: Liveness) -> Reason | None:
    """Why one state per orbit of the queue permutations does not decide
    ``prop`` exactly at a given N, or None when it does: a symmetric table,
    a property that reads queues only through its own quantifiers, and, for
    a ``leads_to``, no per-queue fairness (renaming queues does not keep a
    queue's own promise). A step premise is read on the concrete step from
    the orbit's representative (``scale/liveness.py``)."""
    found = symmetry_reason(spec)
    if found is not None:
        return found
    if prop.per_queue:
        return _liveness_reason(prop, "from", "follows one queue (bare per-queue names), which renaming queues moves")
    bound = {n.var for e in (prop.premise, prop.goal) if e is not None for n in walk(e) if isinstance(n, Quantifier)}
    for key, expr in (("from", prop.premise), ("to", prop.goal)):
        for node in walk(expr) if expr is not None else ():
            if isinstance(node, Var) and node.per_queue and node.index is not None and node.index not in bound:
                return _liveness_reason(prop, key, f"reads {to_text(node)}, a queue no quantifier of it binds")
    fair = [e.name for e in spec.events if e.target is not None and e.fairness is not Fairness.NONE]
    if prop.kind is PropertyKind.LEADS_TO and fair:
        return _liveness_reason(
            prop, "kind", f"its fairness is per queue ({', '.join(fair)}), which renaming queues does not keep"
        )
    return None
