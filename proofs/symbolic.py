"""The symbolic interpreter: the resolved expression tree and the table as Z3 terms.

The second interpreter of the table, beside the concrete one
(``spec/concrete.py``): the same AST, the same step semantics as
``model/machine.py``, but every value is a Z3 term, so a solver can reason
about all states at once.

Queues are a Z3 sort. :class:`Encoding` with ``queues=None`` declares it
uninterpreted, so a formula valid in the encoding is valid for every number
of queues (every finite model of the sort is a device with that many
queues); with ``queues=N`` it is an enumeration of exactly N queues, for
the cross-check against the explorer (:mod:`.crosscheck`).
A per-queue variable of a state is a function from queues to its values.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> enc = Encoding(load_spec("resolved"))
>>> pre, post = enc.state("pre"), enc.state("post")
>>> reset = enc.spec.event("reset")
>>> import z3
>>> z3.is_bool(enc.step(reset, pre, post, enc.args(reset, "a")))
True
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import z3

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
    Type,
    Var,
)
from virtio_notifier_spec.spec.schema import Event, Property, Spec, Transition

from .budget import UNLIMITED, Budget, check

# Z3 enumeration sorts are declared once per process: the same table loaded
# twice must get the same sorts, and two tables whose types differ get two.
_ENUMS: dict[tuple[str, tuple], tuple[z3.SortRef, dict[str, z3.ExprRef]]] = {}
_counter = itertools.count()


def _enum(name: str, values: tuple[str, ...]) -> tuple[z3.SortRef, dict[str, z3.ExprRef]]:
    key = (name, values)
    if key not in _ENUMS:
        taken = any(existing == name for existing, _ in _ENUMS)
        sort_name = f"{name}_{len(_ENUMS)}" if taken else name
        const_names = [v if not taken else f"{v}_{len(_ENUMS)}" for v in values]
        sort, consts = z3.EnumSort(sort_name, const_names)
        _ENUMS[key] = (sort, dict(zip(values, consts, strict=True)))
    return _ENUMS[key]


class SolverGaveUp(RuntimeError):
    """Z3 answered unknown where a yes or no is needed."""


def decide(solver: z3.Solver, *assumptions: z3.BoolRef, budget: Budget = UNLIMITED, quick: bool = False) -> bool:
    """True for sat, False for unsat; never a silent unknown (see :func:`~.budget.check`)."""
    outcome = check(solver, *assumptions, budget=budget, quick=quick)
    if outcome == z3.unknown:
        raise SolverGaveUp(solver.reason_unknown())
    return outcome == z3.sat


def conjunction(parts: list[z3.BoolRef]) -> z3.BoolRef:
    """``And(parts)`` without z3's per-argument coercion (hot in cross-checks)."""
    return _nary(z3.Z3_mk_and, parts, True)


def disjunction(parts: list[z3.BoolRef]) -> z3.BoolRef:
    return _nary(z3.Z3_mk_or, parts, False)


def _nary(make, parts: list[z3.BoolRef], empty: bool) -> z3.BoolRef:
    if not parts:
        return z3.BoolVal(empty)
    ctx = parts[0].ctx
    array, size = z3.z3._to_ast_array(parts)
    return z3.BoolRef(make(ctx.ref(), size, array), ctx)


class QueueTable:
    """A per-queue variable when the queues are known: one constant per
    queue, so that bounded formulas stay propositional. Called like a Z3
    function: ``table(q)`` for a queue value, or a term choosing one."""

    __slots__ = ("consts", "ids", "values")

    def __init__(self, name: str, sort: z3.SortRef, values: tuple[z3.ExprRef, ...]) -> None:
        self.consts = tuple(z3.Const(f"{name}[{i}]", sort) for i in range(len(values)))
        self.ids = {v.get_id(): i for i, v in enumerate(values)}
        self.values = values

    def __call__(self, q: z3.ExprRef) -> z3.ExprRef:
        index = self.ids.get(q.get_id())
        if index is not None:
            return self.consts[index]
        chosen = self.consts[-1]
        for value, const in zip(self.values[-2::-1], self.consts[-2::-1], strict=True):
            chosen = z3.If(q == value, const, chosen)
        return chosen


@dataclass(frozen=True, slots=True)
class SymState:
    """One state as Z3 terms: device variables as constants, per-queue
    variables as functions from the queue sort (tables of constants when
    the queues are known)."""

    device: dict[str, z3.ExprRef]
    queue: dict[str, z3.FuncDeclRef | QueueTable]
    atoms: dict = field(default_factory=dict, compare=False, repr=False)

    def read(self, name: str, q: z3.ExprRef | None = None) -> z3.ExprRef:
        return self.queue[name](q) if name in self.queue else self.device[name]


class Encoding:
    """The table of ``spec`` as Z3 formulas, for ``queues`` queues (None: any number)."""

    def __init__(self, spec: Spec, queues: int | None = None) -> None:
        self.spec = spec
        self.queues = queues
        if queues is None:
            self.queue_sort = z3.DeclareSort("Queue")
            self.queue_values: tuple[z3.ExprRef, ...] | None = None
        else:
            sort, consts = _enum(f"Queue{queues}", tuple(f"q{i}_of_{queues}" for i in range(queues)))
            self.queue_sort = sort
            self.queue_values = tuple(consts.values())
        self.types: dict[str, Type] = {t.name: t for t in spec.types}
        self.variables = {v.name: v for v in spec.variables}
        self._fresh = itertools.count()

    # -- sorts and values -------------------------------------------------
    def sort(self, vtype: Type) -> z3.SortRef:
        if vtype.kind is Kind.BOOL:
            return z3.BoolSort()
        if vtype.kind is Kind.QUEUE:
            return self.queue_sort
        return _enum(vtype.name, vtype.values)[0]

    def value(self, vtype: Type, value: object) -> z3.ExprRef:
        """The Z3 term of a Python value of ``vtype`` (bool, or an enum value's name)."""
        if vtype.kind is Kind.BOOL:
            return z3.BoolVal(bool(value))
        if vtype.kind is Kind.QUEUE:
            return self.queue_values[int(value)]
        return _enum(vtype.name, vtype.values)[1][str(value)]

    def python(self, vtype: Type, term: z3.ExprRef) -> object:
        """The Python value of a model's term (inverse of :meth:`value`)."""
        if vtype.kind is Kind.BOOL:
            return z3.is_true(term)
        if vtype.kind is Kind.QUEUE:
            return self.queue_values.index(term) if self.queue_values else term
        consts = _enum(vtype.name, vtype.values)[1]
        return next(v for v, c in consts.items() if z3.eq(c, term))

    def fresh(self, prefix: str) -> str:
        return f"{prefix}!{next(self._fresh)}"

    # -- states and arguments ---------------------------------------------
    def state(self, prefix: str) -> SymState:
        """A state of fresh constants and functions named ``prefix.x``."""
        tag = self.fresh(prefix)
        device = {v.name: z3.Const(f"{tag}.{v.name}", self.sort(v.type)) for v in self.spec.device_variables}
        if self.queue_values is None:
            queue = {
                v.name: z3.Function(f"{tag}.{v.name}", self.queue_sort, self.sort(v.type))
                for v in self.spec.queue_variables
            }
        else:
            queue = {
                v.name: QueueTable(f"{tag}.{v.name}", self.sort(v.type), self.queue_values)
                for v in self.spec.queue_variables
            }
        return SymState(device, queue)

    def args(self, event: Event, prefix: str) -> dict[str, z3.ExprRef]:
        """Fresh constants for the event's parameters."""
        tag = self.fresh(prefix)
        return {p.name: z3.Const(f"{tag}.{event.name}.{p.name}", self.sort(p.type)) for p in event.params}

    # -- quantification over queues ---------------------------------------
    def forall(self, body: Callable[[z3.ExprRef], z3.BoolRef]) -> z3.BoolRef:
        """``forall q: body(q)``: a conjunction when the queues are known."""
        if self.queue_values is not None:
            return z3.And([body(q) for q in self.queue_values])
        q = z3.Const(self.fresh("q"), self.queue_sort)
        return z3.ForAll([q], body(q))

    def exists(self, body: Callable[[z3.ExprRef], z3.BoolRef]) -> z3.BoolRef:
        if self.queue_values is not None:
            return z3.Or([body(q) for q in self.queue_values])
        q = z3.Const(self.fresh("q"), self.queue_sort)
        return z3.Exists([q], body(q))

    # -- expressions --------------------------------------------------------
    def expr(self, node: Expr, pre: SymState, post: SymState | None, env: dict, q) -> z3.ExprRef:
        """The Z3 term of a resolved tree; ``env`` binds parameters and
        quantified queues, ``q`` is the queue in context (or None)."""
        match node:
            case Literal(value=value, type=vtype):
                return self.value(vtype, value)
            case Var(name=name, per_queue=per_queue, index=index, primed=primed):
                state = post if primed else pre
                if not per_queue:
                    return state.device[name]
                return state.queue[name](q if index is None else env[index])
            case Param(name=name):
                return env[name]
            case Not(operand=operand):
                return z3.Not(self.expr(operand, pre, post, env, q))
            case BoolOp(op=op, left=left, right=right):
                a, b = self.expr(left, pre, post, env, q), self.expr(right, pre, post, env, q)
                return z3.And(a, b) if op == "and" else z3.Or(a, b) if op == "or" else z3.Implies(a, b)
            case Compare(op=op, left=left, right=right):
                a, b = self.expr(left, pre, post, env, q), self.expr(right, pre, post, env, q)
                return a == b if op == "==" else a != b
            case Quantifier(kind=kind, var=var, body=body):

                def inner(bound):
                    return self.expr(body, pre, post, {**env, var: bound}, q)

                return self.forall(inner) if kind == "forall" else self.exists(inner)
            case IfThenElse(cond=cond, then=then, orelse=orelse):
                return z3.If(*(self.expr(x, pre, post, env, q) for x in (cond, then, orelse)))
        raise TypeError(f"not a resolved expression: {node!r}")  # pragma: no cover

    # -- the table ----------------------------------------------------------
    def init(self, s: SymState) -> z3.BoolRef:
        """Every variable takes one of its initial values, on every queue."""
        parts = []
        for v in self.spec.device_variables:
            parts.append(z3.Or([s.device[v.name] == self.value(v.type, x) for x in v.init]))
        queue_vars = self.spec.queue_variables

        def each(q):
            return z3.And([z3.Or([s.queue[v.name](q) == self.value(v.type, x) for x in v.init]) for v in queue_vars])

        parts.append(self.forall(each))
        return z3.And(parts)

    def invariant(self, prop: Property, s: SymState) -> z3.BoolRef:
        """An invariant in state ``s``: on every queue when it is per-queue."""
        if prop.per_queue:
            return self.forall(lambda q: self.expr(prop.expr, s, None, {}, q))
        return self.expr(prop.expr, s, None, {}, None)

    def invariants(self, s: SymState, props: tuple[Property, ...] | None = None) -> z3.BoolRef:
        chosen = self.spec_invariants() if props is None else props
        return z3.And([self.invariant(p, s) for p in chosen])

    def spec_invariants(self) -> tuple[Property, ...]:
        return tuple(p for p in self.spec.properties if p.kind.value == "invariant")

    def enabled(self, event: Event, s: SymState, args: dict) -> z3.BoolRef:
        return z3.BoolVal(True) if event.when is None else self.expr(event.when, s, None, args, None)

    def rows(self, event: Event) -> tuple[Transition, ...]:
        return tuple(r for r in self.spec.transitions if r.event == event.name)

    def in_sources(self, row: Transition, s: SymState, q) -> z3.BoolRef:
        return z3.Or([s.queue["state"](q) == self.value(self.spec.states, src) for src in row.sources])

    def guard(self, row: Transition, s: SymState, args: dict, q) -> z3.BoolRef:
        return z3.BoolVal(True) if row.guard is None else self.expr(row.guard, s, None, args, q)

    def fires(self, event: Event, s: SymState, args: dict, q) -> list[tuple[Transition, z3.BoolRef]]:
        """Each row of ``event`` with the condition under which it fires on
        queue ``q``: its source and guard, or for an ``otherwise`` row its
        source and no guarded row firing."""
        rows = self.rows(event)
        guarded = [(r, z3.And(self.in_sources(r, s, q), self.guard(r, s, args, q))) for r in rows if not r.otherwise]
        some = z3.Or([c for _, c in guarded]) if guarded else z3.BoolVal(False)
        fallback = [(r, z3.And(z3.Not(some), self.in_sources(r, s, q))) for r in rows if r.otherwise]
        return guarded + fallback

    def applies(self, row: Transition, pre: SymState, post: SymState, args: dict, q) -> z3.BoolRef:
        """Queue ``q`` after ``row``: its target state and effects, the rest unchanged."""
        written = {e.target.name: e.value for e in row.effects}
        parts = []
        for v in self.spec.queue_variables:
            if v.name in written:
                new = self.expr(written[v.name], pre, None, args, q)
            elif v.name == "state" and row.target is not None:
                new = self.value(self.spec.states, row.target)
            else:
                new = pre.queue[v.name](q)
            parts.append(post.queue[v.name](q) == new)
        return z3.And(parts)

    def unchanged(self, pre: SymState, post: SymState, q) -> z3.BoolRef:
        return z3.And([post.queue[v.name](q) == pre.queue[v.name](q) for v in self.spec.queue_variables])

    def queue_step(self, event: Event, pre: SymState, post: SymState, args: dict, q) -> z3.BoolRef:
        """Queue ``q`` under ``event``: one disjunct per row that can fire,
        and, where no row does (an incomplete table), the queue unchanged as
        the explorer leaves it."""
        options = self.fires(event, pre, args, q)
        covered = z3.Or([c for _, c in options]) if options else z3.BoolVal(False)
        disjuncts = [z3.And(c, self.applies(r, pre, post, args, q)) for r, c in options]
        disjuncts.append(z3.And(z3.Not(covered), self.unchanged(pre, post, q)))
        return z3.Or(disjuncts)

    def device_step(self, event: Event, pre: SymState, post: SymState, args: dict) -> z3.BoolRef:
        written = {e.target.name: e.value for e in event.effects}
        parts = []
        for v in self.spec.device_variables:
            new = self.expr(written[v.name], pre, None, args, None) if v.name in written else pre.device[v.name]
            parts.append(post.device[v.name] == new)
        return z3.And(parts)

    def step(self, event: Event, pre: SymState, post: SymState, args: dict) -> z3.BoolRef:
        """The transition relation of one event: offered (``when``), the
        event's device effects, and every queue it concerns stepping by
        its rows; the other queues keep their values (frame)."""
        if event.target is None:
            queues = self.forall(lambda q: self.queue_step(event, pre, post, args, q))
        else:
            target = args[event.target]

            def each(q):
                return z3.If(q == target, self.queue_step(event, pre, post, args, q), self.unchanged(pre, post, q))

            queues = self.forall(each)
        return z3.And(self.enabled(event, pre, args), self.device_step(event, pre, post, args), queues)

    def transition(self, pre: SymState, post: SymState, prefix: str = "arg") -> tuple[z3.BoolRef, dict]:
        """The whole relation: some event steps. Returns the formula and,
        per event, its argument constants and its own disjunct."""
        parts = {}
        for event in self.spec.events:
            args = self.args(event, prefix)
            parts[event.name] = (args, self.step(event, pre, post, args))
        return z3.Or([f for _, f in parts.values()]), parts

    # -- concrete states ----------------------------------------------------
    def equals(self, s: SymState, concrete: State) -> z3.BoolRef:
        """``s`` is the concrete ``State`` (finite encodings only)."""
        atoms = s.atoms
        parts = []
        for v, x in zip(self.spec.device_variables, concrete.device, strict=True):
            atom = atoms.get((v.name, -1, x))
            if atom is None:
                atom = atoms[(v.name, -1, x)] = s.device[v.name] == self.value(v.type, x)
            parts.append(atom)
        for index, values in enumerate(concrete.queues):
            for v, x in zip(self.spec.queue_variables, values, strict=True):
                atom = atoms.get((v.name, index, x))
                if atom is None:
                    term = s.queue[v.name](self.queue_values[index])
                    atom = atoms[(v.name, index, x)] = term == self.value(v.type, x)
                parts.append(atom)
        return conjunction(parts)

    def member(self, s: SymState, states) -> z3.BoolRef:
        """``s`` is one of the concrete ``states`` (finite encodings only).

        Built as a decision diagram over the variables in layout order, with
        equal sets of suffixes shared, rather than one disjunct per state:
        20,000 states of 31 variables shrink to a few thousand nodes, which
        is what makes the cross-check's closure query fast.
        """
        positions = [(s.device[v.name], v.type) for v in self.spec.device_variables]
        for q in self.queue_values:
            positions += [(s.queue[v.name](q), v.type) for v in self.spec.queue_variables]
        rows = frozenset(tuple(c.device) + tuple(x for queue in c.queues for x in queue) for c in states)
        memo: dict = {}

        def node(depth: int, suffixes: frozenset) -> z3.BoolRef:
            if depth == len(positions) or not suffixes:
                return z3.BoolVal(bool(suffixes))
            key = (depth, suffixes)
            if key not in memo:
                term, vtype = positions[depth]
                branches: dict = {}
                for row in suffixes:
                    branches.setdefault(row[0], set()).add(row[1:])
                options = [
                    z3.And(term == self.value(vtype, value), node(depth + 1, frozenset(rest)))
                    for value, rest in sorted(branches.items(), key=lambda item: str(item[0]))
                ]
                memo[key] = disjunction(options)
            return memo[key]

        return node(0, rows)

    # -- reading models back ------------------------------------------------
    def model_queues(self, model: z3.ModelRef) -> tuple[z3.ExprRef, ...]:
        """The queues of a model: the N values, or the elements a solver
        chose for the uninterpreted sort (in a stable order)."""
        if self.queue_values is not None:
            return self.queue_values
        universe = model.get_universe(self.queue_sort) or []
        return tuple(sorted(universe, key=str)) or (z3.Const("q", self.queue_sort),)

    def concrete(self, model: z3.ModelRef, s: SymState, queues: tuple[z3.ExprRef, ...]) -> State:
        """The concrete ``State`` that ``model`` gives ``s``."""

        def read(v, term):
            return self.python(v.type, model.evaluate(term, model_completion=True))

        device = tuple(read(v, s.device[v.name]) for v in self.spec.device_variables)
        per_queue = tuple(tuple(read(v, s.queue[v.name](q)) for v in self.spec.queue_variables) for q in queues)
        return State(device, per_queue)

    def concrete_args(self, model: z3.ModelRef, event: Event, args: dict, queues) -> dict[str, object]:
        """The event's arguments in ``model``; a queue argument as its index in ``queues``."""
        found = {}
        for p in event.params:
            term = model.evaluate(args[p.name], model_completion=True)
            if p.type.kind is Kind.QUEUE:
                found[p.name] = next(i for i, q in enumerate(queues) if z3.is_true(model.evaluate(q == term)))
            else:
                found[p.name] = self.python(p.type, term)
        return found

    def fired(
        self, model: z3.ModelRef, event: Event, pre: SymState, post: SymState, args: dict, queues
    ) -> tuple[tuple[int, Transition], ...]:
        """The row that fired on each queue the step concerned, read from ``model``."""
        concrete = self.concrete_args(model, event, args, queues)
        concerned = range(len(queues)) if event.target is None else (concrete[event.target],)
        found = []
        for index in concerned:
            q = queues[index]
            for row, condition in self.fires(event, pre, args, q):
                took = z3.And(condition, self.applies(row, pre, post, args, q))
                if z3.is_true(model.evaluate(took, model_completion=True)):
                    found.append((index, row))
                    break
        return tuple(found)
