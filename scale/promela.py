"""The table as a Promela model for SPIN, generated from the Spec records.

One process, ``init``: an ``atomic`` block picks an initial state, then a
``do`` loop offers every event instance as one ``d_step`` (one indivisible
step, no intermediate state), guarded by the event's ``when``. A step
copies the state into ``hidden`` pre-state variables, applies the rows to
every queue the event concerns reading only the pre-state (all writes land
together, as in :mod:`.machine`), and then asserts every invariant, the
event's step properties, and the table's hygiene (one row per queue,
``complete`` and ``deterministic``).

So SPIN stores one state per state of the machine, plus one: the initial
state of ``init`` before its ``atomic`` block (``SPIN_OFFSET``); and its
transitions (stored + matched) are the machine's, plus one per initial state
(the ``atomic`` choices), plus the root (:func:`spin_transitions`). Each check
asserts at most once (a ``hidden`` flag, which backtracking does not
restore) and prints ``violated: NAME`` from C, so ``pan -c0`` explores the
whole space and names every failing check. Not exported: history freedom
(a property of two runs, which an assertion cannot state) and dead rows.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> text = to_promela(load_spec("resolved"), 2)
>>> "#define NQ 2" in text and "d_step" in text
True
"""

from __future__ import annotations

from virtio_notifier_spec.model.machine import Machine
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
    Var,
)
from virtio_notifier_spec.spec.schema import Event, PropertyKind, Spec

SPIN_OFFSET = 1
EXPORTED_HYGIENE = ("deterministic", "complete")


def spin_transitions(transitions: int, initial_states: int) -> int:
    """The transitions SPIN reports for a machine with these counts."""
    return transitions + initial_states + SPIN_OFFSET


def exported_checks(spec: Spec) -> tuple[str, ...]:
    """The checks the Promela model asserts (SPIN's verdicts cover these)."""
    names = [p.name for p in spec.properties if p.kind is not PropertyKind.HISTORY_FREE]
    return (*names, *EXPORTED_HYGIENE)


class _Context:
    """How names read: ``queue`` is the index text of the queue in context,
    ``env`` the values of parameters and bound queues, ``pre`` whether
    unprimed variables read the copy taken before the step."""

    def __init__(self, queue: str, env: dict[str, str], pre: bool, queues: int) -> None:
        self.queue, self.env, self.pre, self.queues = queue, env, pre, queues

    def bind(self, name: str, value: str) -> _Context:
        return _Context(self.queue, {**self.env, name: value}, self.pre, self.queues)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return f"V_{value}"


def _name(var: Var, ctx: _Context) -> str:
    base = ("q_" if var.per_queue else "d_") + var.name
    if ctx.pre and not var.primed:
        base = "pre_" + base
    if not var.per_queue:
        return base
    index = ctx.queue if var.index is None else ctx.env[var.index]
    return f"{base}[{index}]"


def expr(node: Expr, ctx: _Context) -> str:
    """Promela text for a resolved expression (quantifiers unrolled over the queues)."""
    match node:
        case Literal(value=value):
            return _value(value)
        case Var():
            return _name(node, ctx)
        case Param(name=name):
            return ctx.env[name]
        case Not(operand=operand):
            return f"!({expr(operand, ctx)})"
        case BoolOp(op=op, left=left, right=right):
            a, b = expr(left, ctx), expr(right, ctx)
            if op == "=>":
                return f"(!({a}) || ({b}))"
            return f"(({a}) {'&&' if op == 'and' else '||'} ({b}))"
        case Compare(op=op, left=left, right=right):
            return f"(({expr(left, ctx)}) {op} ({expr(right, ctx)}))"
        case Quantifier(kind=kind, var=var, body=body):
            joiner = " && " if kind == "forall" else " || "
            parts = [f"({expr(body, ctx.bind(var, str(i)))})" for i in range(ctx.queues)]
            return "(" + joiner.join(parts) + ")"
        case IfThenElse(cond=cond, then=then, orelse=orelse):
            return f"(({expr(cond, ctx)}) -> ({expr(then, ctx)}) : ({expr(orelse, ctx)}))"
    raise TypeError(f"not a resolved expression: {node!r}")  # pragma: no cover


class _Writer:
    def __init__(self, spec: Spec, queues: int) -> None:
        self.spec, self.n = spec, queues
        self.lines: list[str] = []
        self.checks = {name: k for k, name in enumerate(exported_checks(spec))}

    def emit(self, text: str, depth: int = 0) -> None:
        self.lines.append("  " * depth + text)

    def check(self, name: str, condition: str, depth: int) -> None:
        k = self.checks[name]
        self.emit(f"v_ok = ({condition} -> 1 : 0);", depth)
        self.emit(
            f"if :: !v_ok && !seen_{k} -> seen_{k} = 1; "
            f'c_code {{ printf("violated: {name}\\n"); }}; assert(v_ok) :: else fi;',
            depth,
        )

    def loop(self, body: list[str], depth: int) -> None:
        self.emit("i = 0;", depth)
        self.emit("do", depth)
        self.emit(":: i < NQ ->", depth)
        for line in body:
            self.emit(line, depth + 1)
        self.emit("i++", depth + 1)
        self.emit(":: else -> break", depth)
        self.emit("od;", depth)

    # -- the model ------------------------------------------------------------
    def write(self) -> str:
        spec, n = self.spec, self.n
        self.emit(f"/* {spec.name}, {n} queue(s): generated by virtio_notifier_spec.scale.promela */")
        self.emit(f"#define NQ {n}")
        values = [v for t in (spec.states, *spec.types) if t.kind is Kind.ENUM for v in t.values]
        for k, value in enumerate(dict.fromkeys(values)):
            self.emit(f"#define V_{value} {k}")
        for var in spec.variables:
            kind = "bool" if var.type.kind is Kind.BOOL else "byte"
            name = ("q_" if var.per_queue else "d_") + var.name
            size = "[NQ]" if var.per_queue else ""
            self.emit(f"{kind} {name}{size};")
            self.emit(f"hidden byte pre_{name}{size};")
        seen = ", ".join(f"seen_{k}" for k in self.checks.values())
        self.emit(f"hidden byte v_ok, v_rows, {seen};")
        self.emit("hidden short i;")
        self.emit("")
        self.emit("init {")
        self.initial()
        self.emit("do", 1)
        for inst in Machine(spec, n).instances:
            self.instance(inst.event, dict(inst.args))
        self.emit("od", 1)
        self.emit("}")
        return "\n".join(self.lines) + "\n"

    def initial(self) -> None:
        self.emit("atomic {", 1)
        for var in self.spec.variables:
            name = ("q_" if var.per_queue else "d_") + var.name
            targets = [f"{name}[{q}]" for q in range(self.n)] if var.per_queue else [name]
            for target in targets:
                if len(var.init) == 1:
                    self.emit(f"{target} = {_value(var.init[0])};", 2)
                else:
                    options = " ".join(f":: {target} = {_value(v)}" for v in var.init)
                    self.emit(f"if {options} fi;", 2)
        self.invariants(2)
        self.emit("}", 1)

    def instance(self, event: Event, args: dict) -> None:
        env = {k: _value(v) for k, v in args.items()}
        pre = _Context("0", env, True, self.n)
        when = expr(event.when, _Context("0", env, False, self.n)) if event.when is not None else "true"
        shown = ", ".join(f"{k}={v}" for k, v in env.items())
        self.emit(f":: d_step {{ /* {event.name}({shown}) */", 1)
        self.emit(f"{when} ->", 2)
        self.copy_pre(2)
        for effect in event.effects:
            self.emit(f"{_name(effect.target, _Context('0', env, False, self.n))} = {expr(effect.value, pre)};", 2)
        if event.target is None:
            self.loop(self.rows(event, env, "i"), 2)
        else:
            for line in self.rows(event, env, env[event.target]):
                self.emit(line, 2)
        for prop in self.spec.properties:
            if prop.kind is PropertyKind.STEP and event.name in prop.events:
                self.check(prop.name, expr(prop.expr, pre), 2)
        self.invariants(2)
        self.emit("}", 1)

    def copy_pre(self, depth: int) -> None:
        body = []
        for var in self.spec.variables:
            name = ("q_" if var.per_queue else "d_") + var.name
            if var.per_queue:
                body.append(f"pre_{name}[i] = {name}[i];")
            else:
                self.emit(f"pre_{name} = {name};", depth)
        self.loop(body, depth)

    def rows(self, event: Event, env: dict[str, str], queue: str) -> list[str]:
        """The rows of ``event`` applied to queue ``queue``, reading the pre-state."""
        ctx = _Context(queue, env, True, self.n)
        post = _Context(queue, env, False, self.n)
        spec = self.spec
        lines, conditions, fallbacks, branches = [], [], [], []
        for row in spec.transitions:
            if row.event != event.name:
                continue
            source = " || ".join(f"pre_q_state[{queue}] == V_{s}" for s in row.sources)
            effects = []
            if row.target is not None:
                effects.append(f"q_state[{queue}] = V_{row.target};")
            for effect in row.effects:
                effects.append(f"{_name(effect.target, post)} = {expr(effect.value, ctx)};")
            body = " ".join(effects) or "skip;"
            if row.otherwise:
                fallbacks.append(f":: ({source}) -> {body}")
            else:
                guard = expr(row.guard, ctx) if row.guard is not None else "true"
                condition = f"(({source}) && ({guard}))"
                conditions.append(condition)
                branches.append(f":: {condition} -> {body}")
        complete = self.checks["complete"]
        missing = (
            f":: else -> if :: !seen_{complete} -> seen_{complete} = 1; "
            f'c_code {{ printf("violated: complete\\n"); }}; assert(false) :: else fi'
        )
        if conditions:
            lines.append(f"v_rows = {' + '.join(f'({c} -> 1 : 0)' for c in conditions)};")
            k = self.checks["deterministic"]
            lines.append(
                f"if :: v_rows > 1 && !seen_{k} -> seen_{k} = 1; "
                f'c_code {{ printf("violated: deterministic\\n"); }}; assert(v_rows <= 1) :: else fi;'
            )
        lines.append("if")
        lines.extend(branches)
        if fallbacks:
            lines.append(":: else ->")
            lines.append("  if")
            lines.extend("  " + f for f in fallbacks)
            lines.append("  " + missing)
            lines.append("  fi")
        else:
            lines.append(missing)
        lines.append("fi;")
        return lines

    def invariants(self, depth: int) -> None:
        per_queue, whole = [], []
        for prop in self.spec.properties:
            if prop.kind is not PropertyKind.INVARIANT:
                continue
            (per_queue if prop.per_queue else whole).append(prop)
        for prop in whole:
            self.check(prop.name, expr(prop.expr, _Context("0", {}, False, self.n)), depth)
        if per_queue:
            saved, self.lines = self.lines, []
            for prop in per_queue:
                self.check(prop.name, expr(prop.expr, _Context("i", {}, False, self.n)), 0)
            body, self.lines = self.lines, saved
            self.loop(body, depth)


def to_promela(spec: Spec, queues: int) -> str:
    """The Promela model of ``spec`` with ``queues`` queues."""
    if queues < 1:
        raise ValueError("a device has at least one queue")
    return _Writer(spec, queues).write()
