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
whole space and names every failing check. Where rows overlap (``deterministic``
fails), the ``d_step`` takes the first enabled row while the explorer takes
every one: the verdicts agree, the state counts may not. Not exported: history freedom
(a property of two runs, which an assertion cannot state) and dead rows.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> text = to_promela(load_spec("resolved"), 2)
>>> "#define NQ 2" in text and "d_step" in text
True
"""

from __future__ import annotations

from virtio_notifier_spec.model.liveness import fairness_groups, goal_queue_params
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.spec.concrete import State
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
from virtio_notifier_spec.spec.profile import vacuous
from virtio_notifier_spec.spec.schema import Event, Fairness, Liveness, PropertyKind, Spec

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


def enum_values(spec: Spec) -> tuple[str, ...]:
    """Every value of an enumeration, in the order of their ``V_`` numbers."""
    return tuple(dict.fromkeys(v for t in (spec.states, *spec.types) if t.kind is Kind.ENUM for v in t.values))


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
    #: assert the table's hygiene (one row per queue); a model for other
    #: searches leaves a queue without a row unchanged, as the explorer does
    hygiene = True

    #: assert every invariant after every step (``to_promela(invariants=False)``
    #: leaves them out: ``make bench`` measures what they cost pan)
    with_invariants = True

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
        self.declarations()
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

    def declarations(self) -> None:
        """The queue count, the values, and each variable with its pre-step copy."""
        spec = self.spec
        self.emit(f"#define NQ {self.n}")
        for k, value in enumerate(enum_values(spec)):
            self.emit(f"#define V_{value} {k}")
        for var in spec.variables:
            kind = "bool" if var.type.kind is Kind.BOOL else "byte"
            name = ("q_" if var.per_queue else "d_") + var.name
            size = "[NQ]" if var.per_queue else ""
            self.emit(f"{kind} {name}{size};")
            self.emit(f"hidden byte pre_{name}{size};")

    def initial(self) -> None:
        self.emit("atomic {", 1)
        self.initial_values(2)
        self.invariants(2)
        self.emit("}", 1)

    def initial_values(self, depth: int) -> None:
        """Every variable set to one of its initial values (a choice when several)."""
        for var in self.spec.variables:
            name = ("q_" if var.per_queue else "d_") + var.name
            targets = [f"{name}[{q}]" for q in range(self.n)] if var.per_queue else [name]
            for target in targets:
                if len(var.init) == 1:
                    self.emit(f"{target} = {_value(var.init[0])};", depth)
                else:
                    options = " ".join(f":: {target} = {_value(v)}" for v in var.init)
                    self.emit(f"if {options} fi;", depth)

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
        self.after_step(event, args, pre)
        self.emit("}", 1)

    def after_step(self, event: Event, args: dict, pre: _Context) -> None:
        """What ends a step: its step properties and the invariants."""
        for prop in self.spec.properties:
            if prop.kind is PropertyKind.STEP and event.name in prop.events:
                self.check(prop.name, expr(prop.expr, pre), 2)
        self.invariants(2)

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
        if not self.hygiene:
            missing = ":: else -> skip"
        if conditions and self.hygiene:
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
        if not self.with_invariants:
            self.emit("skip;", depth)  # a step still ends on a statement (a loop's break needs one after it)
            return
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


def to_promela(spec: Spec, queues: int, *, invariants: bool = True) -> str:
    """The Promela model of ``spec`` with ``queues`` queues. Every invariant
    is asserted after every step (SPIN has no hook for a newly stored state
    only); ``invariants=False`` leaves them out, for ``make bench`` to
    measure their cost (the model then checks step properties and hygiene)."""
    if queues < 1:
        raise ValueError("a device has at least one queue")
    writer = _Writer(spec, queues)
    writer.with_invariants = invariants
    return writer.write()


# -- liveness: LTL with the table's fairness, and reachability probes -------------


def _bindings(spec: Spec, prop: Liveness, queues: int) -> list[dict]:
    """The instances of a property: one per queue when it follows one queue
    (bare per-queue names, or a goal that names its events' queue), else one."""
    if prop.per_queue:
        return [{"q": q} for q in range(queues)]
    read = goal_queue_params(spec, prop)
    if not read:
        return [{}]
    return [dict.fromkeys(read, q) for q in range(queues)]


def claim_names(spec: Spec, queues: int) -> dict[str, list[str]]:
    """The LTL claims of :func:`to_promela_liveness`: per ``leads_to``
    property one per queue it follows; ``deadlock_free`` is one claim."""
    found = {}
    for prop in spec.liveness:
        if prop.kind is PropertyKind.LEADS_TO and vacuous(spec, prop) is not None:
            found[prop.name] = []  # its premise is a step of events the environment does not issue: no claim
        elif prop.kind is PropertyKind.LEADS_TO:
            bindings = _bindings(spec, prop, queues)
            found[prop.name] = [
                prop.name if len(bindings) == 1 else f"{prop.name}_q{next(iter(b.values()))}" for b in bindings
            ]
        elif prop.kind is PropertyKind.DEADLOCK_FREE:
            found[prop.name] = [prop.name]
    return found


#: The claim that asks nothing: what pan runs under for the reachability rounds.
REACH_CLAIM = "vns_reach"


class _LivenessWriter(_Writer):
    """The table with its liveness properties, for SPIN.

    *Fairness.* Each weakly or strongly fair group (an event, per queue when
    it has a target) is a process of its own, so that ``pan -a -f`` (weak
    fairness of processes) is the table's weak fairness; ``init`` issues
    every other event, or stutters (the environment may do nothing for
    ever). A strongly fair group adds ``[]<> enabled -> []<> taken`` to each
    claim's assumptions, read from two bits that every step sets.

    *Claims.* Each premise and goal is a bit recomputed at the end of every
    step; a premise that is a step (``events``) is set by that step and
    cleared by the next. ``leads_to`` is ``[] (premise -> <> goal)`` per
    queue it follows; ``deadlock_free`` is ``[] enabled``, a bit that says
    some event is enabled. No assertion of the table's safety: that is the
    other model's job.

    *Reachability.* ``recoverable`` is not LTL (from every reachable state
    where C holds, *some* run reaches Q), so it is asked in two rounds under
    the claim that asks nothing (:data:`REACH_CLAIM`). With ``VNS_LIST`` set,
    every step prints ``C<k>.<q> <state>`` when premise ``k`` holds (for
    queue q) after it: SPIN's own list of the reachable premise states.
    With ``VNS_PROBE=<k>.<q>`` and ``VNS_START=<state>``, the run starts in
    that state instead and asserts that goal ``k`` never holds: a violation
    means some run reaches it; none, that none does. A state is printed as
    its variables' values in declaration order, queue by queue for per-queue
    variables, each a number (false 0, true 1, the ``V_`` number of a value).
    """

    hygiene = False

    def __init__(self, spec: Spec, queues: int, fair: bool) -> None:
        super().__init__(spec, queues)
        machine = Machine(spec, queues)
        self.instances = machine.instances
        self.ids = {(i.event.name, i.args): i.id for i in machine.instances}
        self.groups, self.inst_group = fairness_groups(machine, fair)
        self.strong = [g for g, group in enumerate(self.groups) if group.kind is Fairness.STRONG]
        self.props = []  # (claim name, property, binding, bit number)
        names = claim_names(spec, queues)
        for prop in spec.liveness:
            if prop.kind is PropertyKind.LEADS_TO and names[prop.name]:
                for name, binding in zip(names[prop.name], _bindings(spec, prop, queues), strict=True):
                    self.props.append((name, prop, binding, len(self.props)))
        self.deadlock = [p.name for p in spec.liveness if p.kind is PropertyKind.DEADLOCK_FREE]
        self.recoverable = [p for p in spec.liveness if p.kind is PropertyKind.RECOVERABLE]
        self.cells = [
            (f"now.{'q_' if v.per_queue else 'd_'}{v.name}" + (f"[{q}]" if v.per_queue else ""))
            for v in spec.variables
            for q in (range(queues) if v.per_queue else (0,))
        ]

    # -- every step ends here ------------------------------------------------------
    def after_step(self, event: Event, args: dict, pre: _Context) -> None:
        group = self.inst_group[self.ids[(event.name, tuple(args.items()))]]
        for g in self.strong:
            self.emit(f"tk_{g} = {1 if g == group else 0};", 2)
        for _, prop, binding, k in self.props:
            if not prop.events:
                continue
            queue = str(binding.get("q", 0))
            named = {name: v for name, v in binding.items() if name != "q"}
            env = {**pre.env, **{name: str(v) for name, v in named.items()}}
            matches = event.name in prop.events and all(args.get(n) == v for n, v in named.items())
            value = f"({expr(prop.premise, _Context(queue, env, True, self.n))} -> 1 : 0)" if matches else "0"
            self.emit(f"lp_{k} = {value};", 2)
        self.update(2)
        self.report(2)

    def _enabled(self, instances) -> str:
        conditions = [
            expr(i.event.when, _Context("0", {k: _value(v) for k, v in i.args}, False, self.n))
            if i.event.when is not None
            else "true"
            for i in instances
        ]
        return f"({' || '.join(conditions) or 'false'} -> 1 : 0)"

    def update(self, depth: int) -> None:
        """Recompute the bits that are functions of the state."""
        for g in self.strong:
            self.emit(f"en_{g} = {self._enabled(i for i in self.instances if self.inst_group[i.id] == g)};", depth)
        if self.deadlock:
            self.emit(f"v_any = {self._enabled(self.instances)};", depth)
        for _, prop, binding, k in self.props:
            queue = str(binding.get("q", 0))
            env = {name: str(v) for name, v in binding.items() if name != "q"}
            if not prop.events:
                self.emit(f"lp_{k} = ({expr(prop.premise, _Context(queue, env, False, self.n))} -> 1 : 0);", depth)
            self.emit(f"lg_{k} = ({expr(prop.goal, _Context(queue, env, False, self.n))} -> 1 : 0);", depth)

    def report(self, depth: int) -> None:
        """Print the premise states when listing; stop at a goal state when probing."""
        if not self.recoverable:
            return
        fmt = " ".join(["%d"] * len(self.cells))
        printed = ", ".join(self.cells)
        self.emit("if", depth)
        self.emit(":: c_expr { vns_probe == 0 && vns_list } ->", depth)
        for k, prop in enumerate(self.recoverable, start=1):
            for q in range(self.n) if prop.per_queue else (0,):
                premise = expr(prop.premise, _Context(str(q), {}, False, self.n)) if prop.premise else "true"
                self.emit(
                    f'if :: ({premise}) -> c_code {{ printf("C{k}.{q} {fmt}\\n", {printed}); }} :: else fi;',
                    depth + 1,
                )
        for k, prop in enumerate(self.recoverable, start=1):
            for q in range(self.n) if prop.per_queue else (0,):
                goal = expr(prop.goal, _Context(str(q), {}, False, self.n))
                self.emit(f":: c_expr {{ vns_probe == {k} && vns_queue == {q} }} ->", depth)
                self.emit(f"if :: ({goal}) -> assert(false) :: else fi;", depth + 1)
        self.emit(":: else -> skip", depth)
        self.emit("fi;", depth)

    # -- the model ------------------------------------------------------------------
    def write(self) -> str:
        spec, n = self.spec, self.n
        self.emit(f"/* {spec.name}, {n} queue(s), liveness: generated by virtio_notifier_spec.scale.promela */")
        self.declarations()
        bits = [f"lp_{k}, lg_{k}" for *_, k in self.props] + [f"en_{g}, tk_{g}" for g in self.strong]
        if bits:
            self.emit(f"bit {', '.join(bits)};")
        if self.deadlock:  # 1 before init's first step, which is no state of the table
            self.emit("bit v_any = 1;")
        self.emit("hidden byte v_rows;")
        self.emit("hidden short i;")
        self.start_code()
        for g, group in enumerate(self.groups):
            self.emit("")
            self.emit(f"proctype fair_{g}() {{ /* {group} is {group.kind.value}ly fair */")
            self.emit("end: do")
            for inst in self.instances:
                if self.inst_group[inst.id] == g:
                    self.instance(inst.event, dict(inst.args))
            self.emit("od")
            self.emit("}")
        self.emit("")
        self.emit("init {")
        self.emit("atomic {", 1)
        self.emit("c_code { vns_start(); };", 2)
        self.emit("if :: c_expr { vns_probe != 0 } -> skip :: else ->", 2)
        self.initial_values(3)
        self.emit("fi;", 2)
        self.update(2)
        self.report(2)
        for g in range(len(self.groups)):
            self.emit(f"run fair_{g}();", 2)
        self.emit("}", 1)
        self.emit("do", 1)
        for inst in self.instances:
            if self.inst_group[inst.id] is None:
                self.instance(inst.event, dict(inst.args))
        clear = [f"tk_{g} = 0;" for g in self.strong] + [f"lp_{k} = 0;" for _, p, _, k in self.props if p.events]
        self.emit(f":: d_step {{ /* the environment does nothing */ {' '.join(clear) or 'skip;'} }}", 1)
        self.emit("od", 1)
        self.emit("}")
        self.claims()
        return "\n".join(self.lines) + "\n"

    def start_code(self) -> None:
        """C that reads ``VNS_LIST``, ``VNS_PROBE`` and ``VNS_START`` (class docstring)."""
        loads = "\n".join(f"  {cell} = strtol(s, &s, 10);" for cell in self.cells)
        self.emit("c_decl { int vns_probe, vns_queue, vns_list; }")
        self.emit(
            "c_code {\nvoid vns_start(void) {\n"
            '  char *s = getenv("VNS_START"), *p = getenv("VNS_PROBE");\n'
            '  vns_list = getenv("VNS_LIST") != 0;\n  vns_probe = 0;\n  if (!p || !s) return;\n'
            "  vns_probe = atoi(p);\n  vns_queue = strchr(p, '.') ? atoi(strchr(p, '.') + 1) : 0;\n"
            f"{loads}\n}}\n}}"
        )

    def claims(self) -> None:
        assumptions = " && ".join(f"(([]<> en_{g}) -> ([]<> tk_{g}))" for g in self.strong)
        formulas = [(name, f"[] (lp_{k} -> <> lg_{k})") for name, _, _, k in self.props]
        formulas += [(name, "[] v_any") for name in self.deadlock]
        for name, formula in formulas:
            if assumptions:
                formula = f"({assumptions}) -> ({formula})"
            self.emit(f"ltl {name} {{ {formula} }}")
        self.emit(f"ltl {REACH_CLAIM} {{ [] true }}")


def to_promela_liveness(spec: Spec, queues: int, fair: bool = True) -> str:
    """The Promela model of ``spec``'s liveness properties (see
    :class:`_LivenessWriter`): LTL claims (:func:`claim_names`) for
    ``pan -a -f``, and the two rounds for ``recoverable``.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> text = to_promela_liveness(load_spec("resolved"), 2)
    >>> "proctype fair_0()" in text and "ltl kick_eventually_handled_q1" in text
    True
    """
    if queues < 1:
        raise ValueError("a device has at least one queue")
    return _LivenessWriter(spec, queues, fair).write()


def decode_state(spec: Spec, queues: int, cells: str) -> State:
    """A state as :func:`to_promela_liveness` prints it, read back.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> decode_state(load_spec("resolved"), 1, "0 0 1 0 5 0 1 0 6 0")
    State(device=(False, True, False, 'driver_ok'), queues=(('deassigned', False, True, False, 'none', False),))
    """
    values = enum_values(spec)
    numbers = iter(int(x) for x in cells.split())
    read: dict[str, list] = {}
    for var in spec.variables:
        for _ in range(queues if var.per_queue else 1):
            n = next(numbers)
            read.setdefault(var.name, []).append(bool(n) if var.type.kind is Kind.BOOL else values[n])
    device = tuple(read[v.name][0] for v in spec.device_variables)
    per_queue = tuple(tuple(read[v.name][q] for v in spec.queue_variables) for q in range(queues))
    return State(device, per_queue)
