"""Bind the names of a raw tree and check its types.

Every name is a bound queue (quantifier variable or queue parameter), an
event parameter, a state variable or a value of a declared enumeration;
anything else is an :class:`ExpressionError` that says what was expected.

>>> from .expr import BOOL
>>> ctx = Context(variables={}, literals={}, params={"assign": BOOL})
>>> resolve_bool(parse_expr("not assign"), ctx)
Not(operand=Param(name='assign', type=Type(kind=<Kind.BOOL: 'bool'>, name='bool', \
values=(False, True))))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ExpressionError
from .expr import (
    BOOL,
    QUEUE,
    BoolOp,
    Compare,
    Effect,
    Expr,
    IfThenElse,
    Kind,
    Literal,
    Name,
    Not,
    Param,
    Quantifier,
    Type,
    Var,
)
from .parse import parse_effect, parse_expr  # noqa: F401  (doctest)
from .schema import Variable


@dataclass(frozen=True)
class Context:
    """What names mean where an expression is written.

    ``in_queue``: bare per-queue variables mean the queue in context (a
    transition's queue, a per-queue invariant's queue). ``primes``: names
    may be primed (step properties).
    """

    variables: Mapping[str, Variable]
    literals: Mapping[str, Type]
    params: Mapping[str, Type]
    in_queue: bool = False
    primes: bool = False
    bound: Mapping[str, Type] = field(default_factory=dict)

    def binding(self, name: str) -> Context:
        return Context(
            self.variables,
            self.literals,
            self.params,
            self.in_queue,
            self.primes,
            {**self.bound, name: QUEUE},
        )

    def known(self) -> str:
        names = sorted({*self.bound, *self.params, *self.variables, *self.literals})
        return ", ".join(names)


def _error(message: str, node: Expr) -> ExpressionError:
    return ExpressionError(f"{message} (at column {node.pos + 1})")


def _name(node: Name, ctx: Context) -> tuple[Expr, Type]:
    local = ctx.bound.get(node.name) or ctx.params.get(node.name)
    if local is not None:
        if node.index is not None or node.primed:
            raise _error(f"{node.name!r} is a parameter: it has no queue index or prime", node)
        return Param(node.name, local, pos=node.pos), local
    var = ctx.variables.get(node.name)
    if var is not None:
        if node.primed and not ctx.primes:
            raise _error(
                f"{node.name}' is a value after a step: primes are allowed in step properties only",
                node,
            )
        if var.per_queue:
            if node.index is None and not ctx.in_queue:
                raise _error(
                    f"{node.name!r} is a per-queue variable: say which queue, e.g. forall q: {node.name}[q]",
                    node,
                )
            if node.index is not None:
                index_type = ctx.bound.get(node.index) or ctx.params.get(node.index)
                if index_type is None or index_type.kind is not Kind.QUEUE:
                    raise _error(
                        f"{node.name}[{node.index}]: {node.index!r} is not a queue "
                        "(a quantifier variable or a queue parameter)",
                        node,
                    )
        elif node.index is not None:
            raise _error(f"{node.name!r} is a device variable: it takes no queue index", node)
        resolved = Var(node.name, var.type, var.per_queue, node.index, node.primed, pos=node.pos)
        return resolved, var.type
    literal = ctx.literals.get(node.name)
    if literal is not None:
        if node.index is not None or node.primed:
            raise _error(f"{node.name!r} is a value of {literal}: no index or prime", node)
        return Literal(node.name, literal, pos=node.pos), literal
    raise _error(f"unknown name {node.name!r}; expected one of: {ctx.known()}", node)


def resolve(node: Expr, ctx: Context) -> tuple[Expr, Type]:
    """Return the resolved tree of ``node`` and its type."""
    match node:
        case Name():
            return _name(node, ctx)
        case Literal():
            return node, node.type
        case Not(operand=operand):
            return Not(_expect(operand, ctx, BOOL, "'not'"), pos=node.pos), BOOL
        case BoolOp(op=op, left=left, right=right):
            return BoolOp(
                op,
                _expect(left, ctx, BOOL, f"'{op}'"),
                _expect(right, ctx, BOOL, f"'{op}'"),
                pos=node.pos,
            ), BOOL
        case Compare(op=op, left=left, right=right):
            a, ta = resolve(left, ctx)
            b, tb = resolve(right, ctx)
            if ta != tb:
                raise _error(f"'{op}' compares a {ta} with a {tb}", node)
            return Compare(op, a, b, pos=node.pos), BOOL
        case Quantifier(kind=kind, var=var, body=body):
            if var in ctx.bound or var in ctx.params or var in ctx.variables:
                raise _error(f"{kind} {var}: {var!r} is already a name here", node)
            inner = _expect(body, ctx.binding(var), BOOL, kind)
            return Quantifier(kind, var, inner, pos=node.pos), BOOL
        case IfThenElse(cond=cond, then=then, orelse=orelse):
            c = _expect(cond, ctx, BOOL, "'if'")
            t, tt = resolve(then, ctx)
            e, te = resolve(orelse, ctx)
            if tt != te:
                raise _error(f"'if' branches differ in type: {tt} and {te}", node)
            return IfThenElse(c, t, e, pos=node.pos), tt
    raise _error(f"cannot resolve {node!r}", node)  # pragma: no cover


def _expect(node: Expr, ctx: Context, want: Type, where: str) -> Expr:
    resolved, got = resolve(node, ctx)
    if got != want:
        raise _error(f"{where} needs a {want}, found a {got}", node)
    return resolved


def resolve_bool(node: Expr, ctx: Context) -> Expr:
    """Resolve a guard or a property: it must be a boolean."""
    return _expect(node, ctx, BOOL, "this expression")


def resolve_effect(source: str, ctx: Context, *, per_queue: bool) -> Effect:
    """Parse and resolve ``target := value``.

    A transition (``per_queue``) writes its own queue's variables; an event
    writes device variables. The value is read in the state before the step.
    """
    target_name, value = parse_effect(source)
    var = ctx.variables.get(target_name.name)
    if var is None:
        raise _error(
            f"unknown variable {target_name.name!r}; expected one of: " + ", ".join(sorted(ctx.variables)),
            target_name,
        )
    if target_name.index is not None:
        raise _error(f"{target_name.name}[...]: an effect writes its own queue only", target_name)
    if var.per_queue != per_queue:
        where = "a transition writes per-queue" if per_queue else "an event writes device"
        raise _error(f"{target_name.name!r} cannot be written here: {where} variables", target_name)
    resolved_value = _expect(value, ctx, var.type, f"{target_name.name} :=")
    target = Var(var.name, var.type, var.per_queue, pos=target_name.pos)
    return Effect(target, resolved_value)
