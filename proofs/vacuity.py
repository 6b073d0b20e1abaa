"""Semantic vacuity: the sub-formulas of a property that do not matter.

A property that holds *vacuously* in a sub-formula holds for a reason that
has nothing to do with it: ``not A or B`` where A never holds, or
``(A => B) and true``, hold whatever B says. Following Beer, Ben-David,
Eisner and Rodeh ("Efficient detection of vacuity in temporal model
checking", 1997/2001) and Kupferman and Vardi, each occurrence of a boolean
sub-formula is replaced by the constant that makes the property *hardest*
to satisfy: ``false`` where it occurs positively, ``true`` where it occurs
negatively (under an odd number of ``not`` or left of ``=>``), both in
turn where it occurs in both ways (either side of ``==``, the condition of
an ``if``). When the property so strengthened still holds in every
reachable state, for every N, the sub-formula does not matter: the
property is vacuous in it. Literal ``true``/``false`` and the whole
property are not candidates.

The verdicts are decided elsewhere (:mod:`.hygiene`): the strengthened
property is implied by the proved invariants, or inductive with them
(vacuous for every N); or a reachable state breaks it (the sub-formula
matters: a witness at some N); or neither, and it is unknown.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> prop = next(p for p in load_spec("resolved").properties if p.name == "limited_host_no_userspace_ioeventfd")
>>> [(o.text, o.polarity, o.values) for o in occurrences(prop)]
[('limited', -1, (True,)), ('not our_fd', 1, (False,))]
>>> to_text(strengthened(occurrences(prop)[1], False, 0).expr)
'limited => false'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from virtio_notifier_spec.spec.expr import (
    BOOL,
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
    walk,
)
from virtio_notifier_spec.spec.schema import Property
from virtio_notifier_spec.spec.text import to_text

# The fields of each node that hold its children, in ``expr.children`` order.
_FIELDS = {
    Not: ("operand",),
    BoolOp: ("left", "right"),
    Compare: ("left", "right"),
    Quantifier: ("body",),
    IfThenElse: ("cond", "then", "orelse"),
}


def is_boolean(node: Expr) -> bool:
    """True when ``node`` is a formula (its type is bool)."""
    match node:
        case Not() | BoolOp() | Compare() | Quantifier():
            return True
        case Literal(type=t) | Var(type=t) | Param(type=t):
            return t.kind is Kind.BOOL
        case IfThenElse(then=then):
            return is_boolean(then)
    return False


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of a sub-formula in a property: where (``path``, the
    child indices from the root) and with which polarity (+1 positive, -1
    negative, 0 both)."""

    prop: Property
    path: tuple[int, ...]
    node: Expr
    polarity: int

    @property
    def text(self) -> str:
        return to_text(self.node)

    @property
    def values(self) -> tuple[bool, ...]:
        """The constants that strengthen the property when put here."""
        return (False,) if self.polarity > 0 else (True,) if self.polarity < 0 else (True, False)


def _polarized(node: Expr, path: tuple[int, ...], polarity: int) -> Iterator[tuple[Expr, tuple[int, ...], int]]:
    yield node, path, polarity
    match node:
        case Not(operand=operand):
            signs = (-polarity,)
            kids: tuple[Expr, ...] = (operand,)
        case BoolOp(op="=>", left=left, right=right):
            signs, kids = (-polarity, polarity), (left, right)
        case BoolOp(left=left, right=right):
            signs, kids = (polarity, polarity), (left, right)
        case Compare(left=left, right=right):
            signs, kids = (0, 0), (left, right)
        case Quantifier(body=body):
            signs, kids = (polarity,), (body,)
        case IfThenElse(cond=cond, then=then, orelse=orelse):
            signs, kids = (0, polarity, polarity), (cond, then, orelse)
        case _:
            return
    for index, (kid, sign) in enumerate(zip(kids, signs, strict=True)):
        yield from _polarized(kid, (*path, index), sign)


def occurrences(prop: Property) -> list[Occurrence]:
    """Every candidate sub-formula of ``prop``: boolean, not a literal, not the whole."""
    if prop.expr is None:
        return []
    found = list(_polarized(prop.expr, (), 1))
    # the operand of a `not` that is itself a candidate is the same candidate
    negations = {path for node, path, _ in found if path and isinstance(node, Not)}
    return [
        Occurrence(prop, path, node, polarity)
        for node, path, polarity in found
        if path and path[:-1] not in negations and is_boolean(node) and not isinstance(node, Literal)
    ]


def replace_at(node: Expr, path: tuple[int, ...], new: Expr) -> Expr:
    """``node`` with the sub-tree at ``path`` replaced by ``new``."""
    if not path:
        return new
    name = _FIELDS[type(node)][path[0]]
    return replace(node, **{name: replace_at(getattr(node, name), path[1:], new)})


def strengthened(occurrence: Occurrence, value: bool, number: int) -> Property:
    """The property with ``occurrence`` replaced by ``value``, named
    ``<property>~<number>`` (a name no table can use)."""
    prop = occurrence.prop
    expr = replace_at(prop.expr, occurrence.path, Literal(value, BOOL))
    per_queue = any(isinstance(n, Var) and n.per_queue and n.index is None for n in walk(expr))
    return Property(
        f"{prop.name}~{number}", prop.kind, expr, per_queue, prop.events, prop.inputs, "", source=prop.source
    )


def maximal(found: list[Occurrence]) -> list[Occurrence]:
    """Those of ``found`` with no ancestor in ``found`` (of the same property):
    when ``A and B`` does not matter, neither do A and B, and only it is named."""
    paths = {(o.prop.name, o.path) for o in found}
    return [o for o in found if not any((o.prop.name, o.path[:cut]) in paths for cut in range(1, len(o.path)))]
