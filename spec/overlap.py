"""Can two rows fire together? Decided by Z3, over every valuation of what they read.

The guards of the rows of one event and source state are encoded as Z3
terms over the device variables, the queue's own variables and the event's
parameters (their whole domains, reachable or not). One query asks whether
any two can hold at once; only when one can are the pairs searched, in
table order, for the first one and a valuation where both hold. The cost
grows with the size of the guards, not with the number of valuations
(two guards over 24 booleans each take tens of milliseconds, where enumerating
their 2^48 valuations never ends).

Only guards that read their own queue and the device are decided here
(:func:`~.expr.is_local`); guards with quantifiers or other queues' variables
are left to the explorer and the proofs.

>>> from .load import load_spec
>>> spec = load_spec("resolved")
>>> first_overlap(spec, spec.event("set_status"), "assigned", spec.rows("set_status", "assigned")) is None
True
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import z3

from .expr import BoolOp, Compare, Expr, IfThenElse, Kind, Literal, Not, Param, Type, Var, is_local, walk
from .schema import Event, Spec, Transition


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two rows that both fire, and a valuation (name, value text) where they do."""

    first: Transition
    second: Transition
    witness: tuple[tuple[str, str], ...]

    @property
    def when(self) -> str:
        return ", ".join(f"{name} = {value}" for name, value in self.witness) or "always"


class _Encoding:
    """Z3 constants for the names the guards of one event and source read.
    Enumerations are integers bounded by their number of values; queues are
    natural numbers."""

    def __init__(self, types: dict[str, Type], state: str | None = None, states: Type | None = None) -> None:
        self.context = z3.Context()  # of its own: nothing here meets the proofs' sorts
        self.types = types
        # the source state, a constant; without one, ``state`` is a name like any other
        self.state = None if state is None or states is None else states.values.index(state)
        self.consts: dict[str, z3.ExprRef] = {}
        self.domains: list[z3.BoolRef] = []

    def const(self, key: str, vtype: Type) -> z3.ExprRef:
        """The constant ``key`` (a name, ``name[i]`` for a queue's), bounded to its type's domain."""
        if key not in self.consts:
            if vtype.kind is Kind.BOOL:
                self.consts[key] = z3.Bool(key, self.context)
            else:
                value = self.consts[key] = z3.Int(key, self.context)
                self.domains.append(value >= 0)
                if vtype.kind is Kind.ENUM:
                    self.domains.append(value < len(vtype.values))
        return self.consts[key]

    def literal(self, node: Literal) -> z3.ExprRef:
        if node.type.kind is Kind.BOOL:
            return z3.BoolVal(node.value, self.context)
        return z3.IntVal(node.type.values.index(node.value), self.context)

    def term(self, node: Expr) -> z3.ExprRef:
        match node:
            case Literal():
                return self.literal(node)
            case Var(name="state") if self.state is not None:
                return z3.IntVal(self.state, self.context)
            case Var(name=name, type=vtype, index=index):  # primed or not: one value
                return self.const(name if index is None else f"{name}[{index}]", vtype)
            case Param(name=name, type=vtype):
                return self.const(name, vtype)
            case Not(operand=operand):
                return z3.Not(self.term(operand))
            case BoolOp(op=op, left=left, right=right):
                a, b = self.term(left), self.term(right)
                return z3.And(a, b) if op == "and" else z3.Or(a, b) if op == "or" else z3.Implies(a, b)
            case Compare(op=op, left=left, right=right):
                a, b = self.term(left), self.term(right)
                return a == b if op == "==" else a != b
            case IfThenElse(cond=cond, then=then, orelse=orelse):
                return z3.If(self.term(cond), self.term(then), self.term(orelse))
        raise TypeError(f"not a quantifier-free resolved expression: {node!r}")  # pragma: no cover

    def guard(self, guard: Expr | None) -> z3.BoolRef:
        return z3.BoolVal(True, self.context) if guard is None else self.term(guard)

    def sat(self, *terms: z3.BoolRef) -> z3.ModelRef | None:
        solver = z3.Solver(ctx=self.context)
        solver.set("ctrl_c", False)  # Z3's own SIGINT handler would swallow a Ctrl-C meant for the program
        solver.add(*self.domains, *terms)
        answer = solver.check()
        if answer == z3.unknown:  # never read as "no overlap": that would claim what was not shown
            raise RuntimeError(f"Z3 could not decide whether guards overlap: {solver.reason_unknown()}")
        return solver.model() if answer == z3.sat else None

    def witness(self, model: z3.ModelRef, guards: Sequence[Expr | None]) -> tuple[tuple[str, str], ...]:
        names = {n.name for g in guards if g is not None for n in walk(g) if isinstance(n, Var | Param)}
        read = sorted(names - {"state"})
        return tuple((name, self.text(name, model.evaluate(self.consts[name], model_completion=True))) for name in read)

    def text(self, key: str, value: z3.ExprRef) -> str:
        vtype = self.types.get(key.split("[")[0])
        if vtype is None or vtype.kind is Kind.BOOL:
            return "true" if z3.is_true(value) else "false"
        number = value.as_long()
        return str(vtype.values[number]) if vtype.kind is Kind.ENUM else str(number)


def first_overlap(spec: Spec, event: Event, state: str, rows: Sequence[Transition]) -> Overlap | None:
    """The first two guarded ``rows`` (of ``event`` from ``state``, in table
    order) that can fire together, with a valuation; None if no two can."""
    guarded = [r for r in rows if not r.otherwise and (r.guard is None or is_local(r.guard))]
    if len(guarded) < 2:
        return None
    types = {v.name: v.type for v in spec.variables} | {p.name: p.type for p in event.params}
    found = _first_pair(state, spec.states, tuple(sorted(types.items())), tuple(r.guard for r in guarded))
    if found is None:
        return None
    first, second, witness = found
    return Overlap(guarded[first], guarded[second], witness)


# Decided once per distinct question: the tests load many tables that differ
# from the shipped ones in one row, and every other group is asked again.
@functools.lru_cache(maxsize=4096)
def _first_pair(
    state: str, states: Type, types: tuple[tuple[str, Type], ...], guards: tuple[Expr | None, ...]
) -> tuple[int, int, tuple[tuple[str, str], ...]] | None:
    encoding = _Encoding(dict(types), state, states)
    terms = [encoding.guard(g) for g in guards]
    if encoding.sat(z3.AtLeast(*terms, 2)) is None:
        return None
    for first, second in itertools.combinations(range(len(guards)), 2):
        model = encoding.sat(terms[first], terms[second])
        if model is not None:
            return first, second, encoding.witness(model, (guards[first], guards[second]))
    raise AssertionError("Z3 found two guards that hold together but no pair")  # pragma: no cover
