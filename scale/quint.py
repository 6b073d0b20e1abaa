"""The table as a Quint module, generated from the Spec records.

One module per table and queue count (``Queues_`` is ``0.to(N-1)``):

- each enumeration is a sum type (``type T_status_value_ = | zero | driver
  | driver_ok``: the leading bar makes a one-value type a sum type too),
  each device variable a ``var``, each per-queue variable a map from queue
  to value (``var our_fd: int -> bool``), as ITF writes them;
- ``init`` picks every initial state the table allows;
- each event is an action of its name and parameters: its ``when`` as a
  guard, its own effects, and for every queue it concerns the one row that
  fires (``<event>_row_``: the rows in table order, an ``otherwise`` row
  when none of its source's other rows does, ``""`` when no row does: the
  queue stays, as in ``model/machine.py``); ``step`` offers every event,
  each argument drawn by ``nondet`` under the parameter's own name, so the
  ITF that ``quint run --mbt`` writes names the event (``mbt::actionTaken``)
  and its arguments (``mbt::nondetPicks``) as ``replay`` reads them;
- each invariant is a ``val`` of its name (``quint run --invariant NAME``);
- each step property is a ``val`` of its name over a flag (``<name>_ok_``)
  that every step of its events keeps only while the property holds across
  it (the state after is computed before it is assigned, so the property
  reads it); ``complete`` (every queue an event concerns fires a row) and
  ``deterministic`` (at most one: where rows overlap the module fires the
  first in table order and the explorer every one, so this flags it) likewise.

Not exported, and listed in the module's head: history freedom (a property
of two runs), the properties of infinite runs (``quint run`` checks none)
and ``no_dead_transition`` (a property of the whole search).

Names Quint reserves are renamed (:mod:`~virtio_notifier_spec.model.quintnames`):
``assign`` is ``assign_``; the export's own names end with ``_``.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> text = quint_module(load_spec("resolved"), 2)
>>> "pure val Queues_ = 0.to(1)" in text and "nondet assign_ = " in text
True
>>> exported_properties(load_spec("resolved"))[:2]
('offlimits_never_ours', 'assigned_holds_exactly_ours')
"""

from __future__ import annotations

import re

from virtio_notifier_spec.model.quintnames import to_quint
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.expr import (
    BoolOp,
    Compare,
    Expr,
    IfThenElse,
    Kind,
    Literal,
    Not,
    Param,
    Quantifier,
    Type,
    Var,
)
from virtio_notifier_spec.spec.schema import Event, PropertyKind, Spec, Transition

QUEUES = "Queues_"
TABLE_MARK = "// table: "
CONTEXT = "q_"  # the queue in context: a made-up name, never a table's
NO_ROW = '""'
#: The table's hygiene checks the module states as invariants.
EXPORTED_HYGIENE = ("deterministic", "complete")


class QuintExportError(SpecError):
    """A table the Quint export cannot write faithfully (exit 2, with the reason)."""


def exported_properties(spec: Spec) -> tuple[str, ...]:
    """The checks the module states, each a ``val`` of its name."""
    kinds = (PropertyKind.INVARIANT, PropertyKind.STEP)
    return (*(p.name for p in spec.properties if p.kind in kinds), *EXPORTED_HYGIENE)


def not_exported(spec: Spec) -> tuple[tuple[str, str], ...]:
    """``(name, why)`` for each property and check the module leaves out."""
    found = [
        (p.name, "history freedom compares two runs; an invariant of one run cannot state it")
        for p in spec.properties
        if p.kind is PropertyKind.HISTORY_FREE
    ]
    found += [
        (p.name, f"{p.kind.value}: a property of infinite runs, which quint run does not check") for p in spec.liveness
    ]
    found += [("no_dead_transition", "a property of the whole reachable graph, not of a run")]
    return tuple(found)


def type_name(t: Type) -> str:
    return "bool" if t.kind is Kind.BOOL else "int" if t.kind is Kind.QUEUE else f"T_{t.name}_"


def value(x: object) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    return to_quint(str(x))


def post_name(name: str) -> str:
    return f"post_{name}_"


class _Context:
    """How names read: ``queue`` the text of the queue in context, ``post``
    whether primed variables may be read (a step property)."""

    def __init__(self, queue: str, post: bool = False) -> None:
        self.queue, self.post = queue, post


def expr(node: Expr, ctx: _Context) -> str:
    """Quint text for a resolved expression."""
    match node:
        case Literal(value=x):
            return value(x)
        case Var(name=name, per_queue=per_queue, index=index, primed=primed):
            if primed and not ctx.post:
                raise QuintExportError(f"{name}' is read outside a step property")
            base = post_name(name) if primed else to_quint(name)
            if not per_queue:
                return base
            return f"{base}.get({ctx.queue if index is None else to_quint(index)})"
        case Param(name=name):
            return to_quint(name)
        case Not(operand=operand):
            return f"not({expr(operand, ctx)})"
        case BoolOp(op=op, left=left, right=right):
            word = {"and": "and", "or": "or", "=>": "implies"}[op]
            return f"({expr(left, ctx)} {word} {expr(right, ctx)})"
        case Compare(op=op, left=left, right=right):
            return f"({expr(left, ctx)} {op} {expr(right, ctx)})"
        case Quantifier(kind=kind, var=var, body=body):
            return f"{QUEUES}.{kind}({to_quint(var)} => {expr(body, ctx)})"
        case IfThenElse(cond=cond, then=then, orelse=orelse):
            return f"(if ({expr(cond, ctx)}) {expr(then, ctx)} else {expr(orelse, ctx)})"
    raise TypeError(f"not a resolved expression: {node!r}")  # pragma: no cover


def _enums(spec: Spec) -> list[Type]:
    """Every enumeration once: the machine's states, then the declared types."""
    found = {t.name: t for t in (spec.states, *spec.types) if t.kind is Kind.ENUM}
    return list(found.values())


def _check_names(spec: Spec) -> None:
    """Quint has one namespace for a module's definitions: refuse a table
    whose variables, events, values and checks share a name."""
    seen: dict[str, str] = {}
    named = [("variable", v.name) for v in spec.variables] + [("event", e.name) for e in spec.events]
    named += [("value", str(x)) for t in _enums(spec) for x in t.values]
    named += [("property", name) for name in exported_properties(spec)]
    for kind, name in named:
        quint = to_quint(name)
        if quint in seen and seen[quint] != f"{kind} {name}":
            raise QuintExportError(f"{kind} {name} and {seen[quint]} have one name in Quint, which needs distinct ones")
        seen[quint] = f"{kind} {name}"


class _Writer:
    def __init__(self, spec: Spec, queues: int, table: str | None) -> None:
        self.spec, self.n, self.table = spec, queues, table
        self.lines: list[str] = []
        self.steps = [p for p in spec.properties if p.kind is PropertyKind.STEP]

    def emit(self, text: str = "", depth: int = 1) -> None:
        self.lines.append("  " * depth + text if text else "")

    def write(self) -> str:
        spec = self.spec
        _check_names(spec)
        for var in spec.variables:
            if var.type.kind is Kind.QUEUE:
                raise QuintExportError(f"variable {var.name} holds a queue; the Quint export has no such variable")
        self.header()
        self.emit(f"module {to_quint(spec.name)} {{", 0)
        self.emit(f"pure val {QUEUES} = 0.to({self.n - 1})")
        self.emit()
        for t in _enums(spec):
            self.emit(f"type {type_name(t)} = | {' | '.join(value(x) for x in t.values)}")
        self.emit()
        for var in spec.variables:
            shown = f"int -> {type_name(var.type)}" if var.per_queue else type_name(var.type)
            self.emit(f"var {to_quint(var.name)}: {shown}  // {var.scope.value}")
        for name in (*(p.name for p in self.steps), *EXPORTED_HYGIENE):
            self.emit(f"var {name}_ok_: bool  // every step so far kept {name}")
        self.emit()
        self.init()
        for event in spec.events:
            self.emit()
            self.event(event)
        self.emit()
        self.step()
        self.emit()
        self.properties()
        self.emit("}", 0)
        return "\n".join(self.lines) + "\n"

    def header(self) -> None:
        spec = self.spec
        self.emit(f"// {spec.name}, {self.n} queue(s), environment {spec.env}: written by virtio-notifier-spec", 0)
        self.emit(f"{TABLE_MARK}{self.table or spec.name} env={spec.env} queues={self.n}", 0)
        self.emit("// A name Quint reserves gets a trailing _ (assign is assign_); the export's own end with _.", 0)
        self.emit(f"// Invariants for quint run --invariant: {', '.join(exported_properties(spec))}", 0)
        for name, why in not_exported(spec):
            self.emit(f"// Not exported: {name} ({why})", 0)

    def _domain(self, t: Type) -> str:
        if t.kind is Kind.BOOL:
            return "Set(true, false)"
        if t.kind is Kind.QUEUE:
            return QUEUES
        return f"Set({', '.join(value(x) for x in t.values)})"

    def init(self) -> None:
        self.emit("action init = all {")
        for var in self.spec.variables:
            choices = f"Set({', '.join(value(x) for x in var.init)})"
            name = to_quint(var.name)
            if var.per_queue:
                choices = f"{QUEUES}.setOfMaps({choices})"
            if len(var.init) == 1 and not var.per_queue:
                self.emit(f"{name}' = {value(var.init[0])},", 2)
            elif len(var.init) == 1:
                self.emit(f"{name}' = {QUEUES}.mapBy({CONTEXT} => {value(var.init[0])}),", 2)
            else:
                self.emit(f"nondet init_{var.name}_ = {choices}.oneOf()", 2)
                self.emit(f"{name}' = init_{var.name}_,", 2)
        for name in (*(p.name for p in self.steps), *EXPORTED_HYGIENE):
            self.emit(f"{name}_ok_' = true,", 2)
        self.emit("}")

    # -- events ---------------------------------------------------------------

    def _rows(self, event: Event) -> list[Transition]:
        rows = [r for r in self.spec.transitions if r.event == event.name]
        return [r for r in rows if not r.otherwise] + [r for r in rows if r.otherwise]

    def _signature(self, event: Event) -> str:
        return ", ".join(f"{to_quint(p.name)}: {type_name(p.type)}" for p in event.params)

    def event(self, event: Event) -> None:
        spec = self.spec
        name, params = to_quint(event.name), self._signature(event)
        args = ", ".join(to_quint(p.name) for p in event.params)
        ctx = _Context(CONTEXT)
        self.emit(f"// {event.name}: {event.doc}")
        self.emit(f"def {event.name}_row_({CONTEXT}: int{', ' + params if params else ''}): str =")
        text = NO_ROW
        for row in reversed(self._rows(event)):
            sources = " or ".join(f"({to_quint('state')}.get({CONTEXT}) == {value(s)})" for s in row.sources)
            cond = f"({sources})"
            if row.guard is not None:
                cond += f" and {expr(row.guard, ctx)}"
            text = f'if ({cond}) "{row.name}"\n{"  " * 3}else {text}'
        if event.target is not None:
            text = f"if ({CONTEXT} != {to_quint(event.target)}) {NO_ROW}\n{'  ' * 3}else {text}"
        self.emit(text, 3)
        self.emit(f"action {name}({params}): bool = {{" if params else f"action {name}: bool = {{")
        call = f"{event.name}_row_({CONTEXT}{', ' + args if args else ''})"
        self.emit(f"val row_ = {QUEUES}.mapBy({CONTEXT} => {call})", 2)
        device_effects = {e.target.name: e for e in event.effects}
        for effect in event.effects:
            if effect.target.per_queue:
                raise QuintExportError(f"event {event.name} writes the per-queue {effect.target.name} itself")
        for var in spec.device_variables:
            effect = device_effects.get(var.name)
            post = expr(effect.value, ctx) if effect else to_quint(var.name)
            self.emit(f"val {post_name(var.name)} = {post}", 2)
        for var in spec.queue_variables:
            after = self._queue_value(event, var.name)
            self.emit(f"val {post_name(var.name)} = {QUEUES}.mapBy({CONTEXT} => {after})", 2)
        self.emit("all {", 2)
        if event.when is not None:
            self.emit(f"{expr(event.when, ctx)},", 3)
        for var in spec.variables:
            self.emit(f"{to_quint(var.name)}' = {post_name(var.name)},", 3)
        for prop in self.steps:
            if event.name in prop.events:
                kept = expr(prop.expr, _Context("0", post=True))
                self.emit(f"{prop.name}_ok_' = ({prop.name}_ok_ and {kept}),", 3)
            else:
                self.emit(f"{prop.name}_ok_' = {prop.name}_ok_,", 3)
        concerned = "true" if event.target is None else f"({CONTEXT} == {to_quint(event.target)})"
        complete = f"{QUEUES}.forall({CONTEXT} => ({concerned} implies row_.get({CONTEXT}) != {NO_ROW}))"
        deterministic = f"{QUEUES}.forall({CONTEXT} => ({concerned} implies {self._one_row(event)}))"
        self.emit(f"deterministic_ok_' = (deterministic_ok_ and {deterministic}),", 3)
        self.emit(f"complete_ok_' = (complete_ok_ and {complete}),", 3)
        self.emit("}", 2)
        self.emit("}")

    def _one_row(self, event: Event) -> str:
        """The queue in context fires at most one row of ``event``: where
        guards can hold together (the loader decides only guards that read
        their own queue), the row function takes the first, the explorer
        every one, and this is false."""
        ctx, parts = _Context(CONTEXT), []
        for source in self.spec.states.values:
            guards = [r.guard for r in self.spec.rows(event.name, source) if not r.otherwise and r.guard is not None]
            always = [r for r in self.spec.rows(event.name, source) if not r.otherwise and r.guard is None]
            if len(guards) + len(always) < 2:
                continue
            held = ", ".join([*(expr(g, ctx) for g in guards), *("true" for _ in always)])
            at_most_one = f"[{held}].select(x_ => x_).length() <= 1"
            parts.append(f"(({to_quint('state')}.get({CONTEXT}) == {value(source)}) implies {at_most_one})")
        return " and ".join(parts) or "true"

    def _queue_value(self, event: Event, name: str) -> str:
        """The queue's ``name`` after the step: the value the row that fired gives it."""
        ctx = _Context(CONTEXT)
        text = f"{to_quint(name)}.get({CONTEXT})"
        for row in reversed(self._rows(event)):
            if name == "state":
                if row.target is None:
                    continue
                new = value(row.target)
            else:
                effect = next((e for e in row.effects if e.target.name == name), None)
                if effect is None:
                    continue
                new = expr(effect.value, ctx)
            text = f'if (row_.get({CONTEXT}) == "{row.name}") {new} else {text}'
        return text

    def step(self) -> None:
        self.emit("action step = any {")
        for event in self.spec.events:
            for p in event.params:
                self.emit(f"nondet {to_quint(p.name)} = {self._domain(p.type)}.oneOf()", 2)
            args = ", ".join(to_quint(p.name) for p in event.params)
            self.emit(f"{to_quint(event.name)}({args})," if args else f"{to_quint(event.name)},", 2)
        self.emit("}")

    # -- properties -------------------------------------------------------------

    def properties(self) -> None:
        for prop in self.spec.properties:
            if prop.kind is PropertyKind.INVARIANT:
                body = expr(prop.expr, _Context(CONTEXT))
                if prop.per_queue:
                    body = f"{QUEUES}.forall({CONTEXT} => {body})"
                self.emit(f"val {to_quint(prop.name)} = {body}")
            elif prop.kind is PropertyKind.STEP:
                self.emit(f"val {to_quint(prop.name)} = {prop.name}_ok_")
        for name in EXPORTED_HYGIENE:
            self.emit(f"val {name} = {name}_ok_")
        self.emit(f"val every_invariant_ = and {{ {', '.join(to_quint(n) for n in exported_properties(self.spec))} }}")


def quint_module(spec: Spec, queues: int, *, table: str | None = None) -> str:
    """The Quint module of ``spec`` with ``queues`` queues; ``table`` is the
    table as ``--spec`` named it (a variant, or a TOML path relative to the
    module's folder), written in the module's head for ``replay``."""
    if queues < 1:
        raise ValueError("a device has at least one queue")
    return _Writer(spec, queues, table).write()


def exported_from(text: str) -> tuple[str, str, int] | None:
    """``(table, env, queues)`` from the head of a module :func:`quint_module`
    wrote; None for any other text.

    >>> exported_from("// x\\n// table: my.toml env=qemu queues=2\\nmodule m {}")
    ('my.toml', 'qemu', 2)
    """
    for line in text.splitlines()[:5]:
        found = re.fullmatch(re.escape(TABLE_MARK) + r"(.+) env=(\S+) queues=(\d+)", line.strip())
        if found:
            return found.group(1), found.group(2), int(found.group(3))
    return None
