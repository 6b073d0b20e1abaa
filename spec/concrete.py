"""The concrete interpreter: expressions compiled to Python closures.

A state is a :class:`State`: the device's variables in declaration order and
one tuple per queue (``state`` first, then the other per-queue variables).
:func:`compile_expr` turns a resolved tree into a closure
``f(pre, post, args, queue)`` once, so that the explorer and the oracle
evaluate millions of guards without walking the tree each time. Nothing is
ever handed to ``eval``.

>>> from .expr import BOOL, Literal, Not
>>> compile_expr(Not(Literal(True, BOOL)), Layout((), ()))(None, None, {}, 0)
False
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from .expr import BoolOp, Compare, Effect, Expr, IfThenElse, Literal, Not, Param, Quantifier, Var

Closure = Callable[[Any, Any, dict, int], Any]


class State(NamedTuple):
    """One state of a device: hashable, so exploration can keep it in sets.

    A named tuple rather than a dataclass: it is the explorer's hot object
    and tuple hashing and comparison are what make exploration fast.
    """

    device: tuple
    queues: tuple[tuple, ...]


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each variable sits in a :class:`State`."""

    device: tuple[str, ...]
    queue: tuple[str, ...]

    @classmethod
    def of(cls, spec) -> Layout:
        return cls(
            tuple(v.name for v in spec.device_variables),
            tuple(v.name for v in spec.queue_variables),
        )

    def slot(self, var: Var) -> int:
        return (self.queue if var.per_queue else self.device).index(var.name)


def compile_expr(node: Expr, layout: Layout) -> Closure:
    """Compile a resolved tree into a closure over (pre, post, args, queue)."""
    match node:
        case Literal(value=value):
            return lambda pre, post, args, q: value
        case Var():
            return _variable(node, layout)
        case Param(name=name):
            return lambda pre, post, args, q: args[name]
        case Not(operand=operand):
            f = compile_expr(operand, layout)
            return lambda pre, post, args, q: not f(pre, post, args, q)
        case BoolOp(op=op, left=left, right=right):
            a, b = compile_expr(left, layout), compile_expr(right, layout)
            if op == "and":
                return lambda pre, post, args, q: a(pre, post, args, q) and b(pre, post, args, q)
            if op == "or":
                return lambda pre, post, args, q: a(pre, post, args, q) or b(pre, post, args, q)
            return lambda pre, post, args, q: (not a(pre, post, args, q)) or b(pre, post, args, q)
        case Compare(op=op, left=left, right=right):
            a, b = compile_expr(left, layout), compile_expr(right, layout)
            if op == "==":
                return lambda pre, post, args, q: a(pre, post, args, q) == b(pre, post, args, q)
            return lambda pre, post, args, q: a(pre, post, args, q) != b(pre, post, args, q)
        case Quantifier():
            return _quantifier(node, layout)
        case IfThenElse(cond=cond, then=then, orelse=orelse):
            c, t, e = (compile_expr(x, layout) for x in (cond, then, orelse))
            return lambda pre, post, args, q: t(pre, post, args, q) if c(pre, post, args, q) else e(pre, post, args, q)
    raise TypeError(f"not a resolved expression: {node!r}")  # pragma: no cover


def _variable(node: Var, layout: Layout) -> Closure:
    slot = layout.slot(node)
    which = 1 if node.primed else 0  # 0: state before the step, 1: after
    if not node.per_queue:
        if which:
            return lambda pre, post, args, q: post[0][slot]
        return lambda pre, post, args, q: pre[0][slot]
    index = node.index
    if index is None:
        if which:
            return lambda pre, post, args, q: post[1][q][slot]
        return lambda pre, post, args, q: pre[1][q][slot]
    if which:
        return lambda pre, post, args, q: post[1][args[index]][slot]
    return lambda pre, post, args, q: pre[1][args[index]][slot]


def _quantifier(node: Quantifier, layout: Layout) -> Closure:
    body = compile_expr(node.body, layout)
    var = node.var
    combine = all if node.kind == "forall" else any

    def quantified(pre, post, args, q):
        inner = dict(args)
        count = len(pre[1])

        def value(i: int) -> bool:
            inner[var] = i
            return body(pre, post, inner, q)

        return combine(value(i) for i in range(count))

    return quantified


def compile_effects(effects: tuple[Effect, ...], layout: Layout) -> tuple[tuple[int, Closure], ...]:
    """Each effect as (slot to write, closure computing its value)."""
    return tuple((layout.slot(e.target), compile_expr(e.value, layout)) for e in effects)
