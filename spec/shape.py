"""The shape of expression trees: ``and``/``or`` chains kept shallow, depth measured.

A chain ``a and b and c and ...`` is read as a *balanced* tree, so that
hundreds of terms nest only about log2(n) levels and every interpreter
(closures, Z3 terms, Promela, text) can recurse over it; two or three terms
give the same tree as reading left to right. :func:`chain` undoes it for the
printer, which writes a balanced chain back flat.

>>> from .expr import BOOL, Literal
>>> leaves = [Literal(name, BOOL) for name in "abcde"]
>>> depth(balanced("and", leaves))
4
>>> chain(balanced("and", leaves)) == leaves
True
"""

from __future__ import annotations

from collections.abc import Sequence

from .expr import BoolOp, Expr, children

CHAINS = ("and", "or")  # the associative operators, read as balanced trees


def balanced(op: str, operands: Sequence[Expr], positions: Sequence[int] = ()) -> Expr:
    """One tree for ``operands[0] op operands[1] op ...``, its left half the
    larger; ``positions[i]``, where the operator after ``operands[i]`` was
    written, becomes the position of the node that joins there."""
    if len(operands) == 1:
        return operands[0]
    middle = (len(operands) + 1) // 2
    left = balanced(op, operands[:middle], positions[: middle - 1])
    right = balanced(op, operands[middle:], positions[middle:])
    return BoolOp(op, left, right, pos=positions[middle - 1] if positions else 0)


def chain(node: Expr) -> list[Expr]:
    """The operands of the maximal ``and`` (or ``or``) chain rooted at
    ``node``, left to right; ``[node]`` for anything else."""
    if not (isinstance(node, BoolOp) and node.op in CHAINS):
        return [node]
    operands: list[Expr] = []
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, BoolOp) and item.op == node.op:
            pending += [item.right, item.left]
        else:
            operands.append(item)
    return operands


def depth(node: Expr) -> int:
    """The number of nodes on the longest path from ``node`` to a leaf."""
    deepest = 0
    pending = [(node, 1)]
    while pending:
        item, level = pending.pop()
        deepest = max(deepest, level)
        pending += [(child, level + 1) for child in children(item)]
    return deepest
