"""The text interpreter: a resolved tree written back as source text.

Used by diagrams, messages and ``show``; parentheses appear only where the
grammar needs them, so the text parses back to the same tree. An ``and``
(``or``) chain in the balanced shape the parser gives it (spec/shape.py) is
written flat; any other grouping keeps its parentheses.

>>> from .load import load_spec
>>> row = next(t for t in load_spec("resolved").transitions if t.letter == "e")
>>> to_text(row.guard)
'not assign and not limited and status == driver_ok and running and assign_ok'
"""

from __future__ import annotations

from .expr import BoolOp, Compare, Effect, Expr, IfThenElse, Literal, Name, Not, Param, Quantifier, Var
from .shape import balanced, chain

# binding strength: higher binds tighter
_LEVEL = {"quant": 0, "=>": 1, "or": 2, "and": 3, "not": 4, "compare": 5, "atom": 6}


def _level(node: Expr) -> int:
    match node:
        case Quantifier() | IfThenElse():
            return _LEVEL["quant"]
        case BoolOp(op=op):
            return _LEVEL[op]
        case Not():
            return _LEVEL["not"]
        case Compare():
            return _LEVEL["compare"]
    return _LEVEL["atom"]


def _wrap(node: Expr, minimum: int) -> str:
    text = to_text(node)
    return f"({text})" if _level(node) < minimum else text


def to_text(node: Expr) -> str:
    """Source text for ``node``."""
    match node:
        case Literal(value=value):
            return str(value).lower() if isinstance(value, bool) else str(value)
        case Var(name=name, index=index, primed=primed) | Name(name=name, index=index, primed=primed):
            return name + ("'" if primed else "") + (f"[{index}]" if index else "")
        case Param(name=name):
            return name
        case Not(operand=operand):
            return "not " + _wrap(operand, _LEVEL["not"])
        case BoolOp(op="=>", left=left, right=right):
            return f"{_wrap(left, _LEVEL['or'])} => {_wrap(right, _LEVEL['=>'])}"
        case BoolOp(op=op, left=left, right=right):
            operands = chain(node)
            if balanced(op, operands) != node:
                operands = [left, right]  # grouped by hand: each side in parentheses if it is a chain too
            return f" {op} ".join(_wrap(x, _LEVEL[op] + 1) for x in operands)
        case Compare(op=op, left=left, right=right):
            return f"{_wrap(left, _LEVEL['atom'])} {op} {_wrap(right, _LEVEL['atom'])}"
        case Quantifier(kind=kind, var=var, body=body):
            return f"{kind} {var}: {to_text(body)}"
        case IfThenElse(cond=cond, then=then, orelse=orelse):
            return f"if {to_text(cond)} then {to_text(then)} else {to_text(orelse)}"
    raise TypeError(f"not an expression: {node!r}")  # pragma: no cover


def effect_text(effect: Effect) -> str:
    """``our_fd := true``"""
    return f"{to_text(effect.target)} := {to_text(effect.value)}"
