"""Can a step premise hold on a step that changes nothing? Decided by Z3.

A liveness property whose premise is a step of some events (``events = [...]``
on a ``leads_to``) reads the state before the step, the state after it
(primed names) and the event's parameters. When the event concerns one
queue and the property follows another one, that queue's step changes
neither the device nor the followed queue (in a table whose queues never
influence each other): for the followed queue it is a *stutter*. Whether
such a step can satisfy the premise is the question here: every primed name
is read as its unprimed value, and Z3 looks for a valuation of what the
premise reads (over each type's whole domain, reachable or not) that makes
it true. ``scale/liveness.py`` projects a property onto one queue only when
none exists (``spec/fragment.py``, :func:`~.fragment.projection_reason`).

>>> from .load import load_spec
>>> prop = next(p for p in load_spec("resolved").liveness if p.name == "fast_path_after_release")
>>> stutter_witness(load_spec("resolved"), prop.premise) is None   # vhost_fd and not vhost_fd'
True
"""

from __future__ import annotations

import z3

from .expr import BoolOp, Compare, Expr, IfThenElse, Kind, Literal, Not, Param, Type, Var
from .schema import Spec


class _Stutter:
    """Z3 constants for the names a premise reads, ``x'`` the same as ``x``."""

    def __init__(self, types: dict[str, Type]) -> None:
        self.context = z3.Context()
        self.types = types
        self.consts: dict[str, z3.ExprRef] = {}
        self.domains: list[z3.BoolRef] = []

    def const(self, key: str, vtype: Type) -> z3.ExprRef:
        if key not in self.consts:
            if vtype.kind is Kind.BOOL:
                self.consts[key] = z3.Bool(key, self.context)
            else:
                value = self.consts[key] = z3.Int(key, self.context)
                self.domains.append(value >= 0)
                if vtype.kind is Kind.ENUM:
                    self.domains.append(value < len(vtype.values))
        return self.consts[key]

    def term(self, node: Expr) -> z3.ExprRef:
        match node:
            case Literal(value=value, type=vtype):
                if vtype.kind is Kind.BOOL:
                    return z3.BoolVal(value, self.context)
                return z3.IntVal(vtype.values.index(value), self.context)
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

    def text(self, key: str, value: z3.ExprRef) -> str:
        vtype = self.types.get(key.split("[")[0])
        if vtype is None or vtype.kind is Kind.BOOL:
            return "true" if z3.is_true(value) else "false"
        number = value.as_long()
        return str(vtype.values[number]) if vtype.kind is Kind.ENUM else str(number)


def stutter_witness(spec: Spec, premise: Expr | None, params: dict[str, Type] | None = None) -> str | None:
    """A valuation (``name = value, ...``) under which ``premise`` holds on a
    step that changes no variable it reads, or None when there is none.
    ``params`` are the types of the event parameters it reads. A premise
    with a quantifier is not asked (the caller refuses it first)."""
    if premise is None:
        return "always"
    encoding = _Stutter({v.name: v.type for v in spec.variables} | dict(params or {}))
    solver = z3.Solver(ctx=encoding.context)
    solver.set("ctrl_c", False)  # Z3's own SIGINT handler would swallow a Ctrl-C meant for the program
    solver.add(encoding.term(premise))
    solver.add(*encoding.domains)
    answer = solver.check()
    if answer == z3.unknown:  # not shown impossible: the caller must not rely on it
        return f"some valuation (Z3 could not decide: {solver.reason_unknown()})"
    if answer != z3.sat:
        return None
    model = solver.model()
    shown = [
        f"{key} = {encoding.text(key, model.evaluate(const, model_completion=True))}"
        for key, const in sorted(encoding.consts.items())
    ]
    return ", ".join(shown) or "always"
