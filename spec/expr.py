"""The expression language's abstract syntax tree.

Guards, effects and properties are parsed once (:mod:`.parse`), resolved and
type-checked (:mod:`.resolve`) into these nodes, and then read by several
interpreters: concrete closures for the explorer and the oracle
(``spec/concrete.py``), Z3 terms for the proofs (``proofs/``) and text for
diagrams and messages (:mod:`.text`). No interpreter ever calls ``eval``.

Grammar (lowest precedence first)::

    expr     := quant | implies
    quant    := ("forall" | "exists") NAME ":" expr
    implies  := or ("=>" implies)?
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := primary (("==" | "!=") primary)?
    primary  := "true" | "false" | NAME | NAME "'" | NAME "[" NAME "]"
              | NAME "'" "[" NAME "]" | "(" expr ")"
              | "if" expr "then" expr "else" expr
    effect   := NAME ("[" NAME "]")? ":=" expr

``NAME'`` is the value after the step (step properties only); ``x[q]`` is
queue ``q``'s copy of a per-queue variable, and a bare per-queue ``x`` means
the queue the transition or invariant is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Kind(Enum):
    BOOL = "bool"
    QUEUE = "queue"
    ENUM = "enum"


@dataclass(frozen=True, slots=True)
class Type:
    """A value type: ``bool``, ``queue`` (an index) or a declared enumeration."""

    kind: Kind
    name: str
    values: tuple = ()

    def __str__(self) -> str:
        return self.name


BOOL = Type(Kind.BOOL, "bool", (False, True))
QUEUE = Type(Kind.QUEUE, "queue")


# -- raw nodes, produced by the parser (names not yet resolved) -------------


@dataclass(frozen=True, slots=True)
class Name:
    """An identifier as written: ``x``, ``x'``, ``x[q]`` or ``x'[q]``."""

    name: str
    index: str | None = None
    primed: bool = False
    pos: int = field(default=0, compare=False, repr=False)


# -- resolved nodes ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    value: bool | str
    type: Type
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Var:
    """A state variable. ``index`` is None for a device variable, or for a
    per-queue variable read on the queue in context; else the name of a
    bound queue (quantifier variable or queue parameter)."""

    name: str
    type: Type
    per_queue: bool
    index: str | None = None
    primed: bool = False
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Param:
    """An event parameter, or a bound queue variable when ``type`` is queue."""

    name: str
    type: Type
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``and``, ``or`` or ``=>`` (implication)."""

    op: str
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Compare:
    """``==`` or ``!=`` between two values of one type."""

    op: str
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Quantifier:
    """``forall q: body`` or ``exists q: body`` over the device's queues."""

    kind: str
    var: str
    body: Expr
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class IfThenElse:
    cond: Expr
    then: Expr
    orelse: Expr
    pos: int = field(default=0, compare=False, repr=False)


Expr = Name | Literal | Var | Param | Not | BoolOp | Compare | Quantifier | IfThenElse


@dataclass(frozen=True, slots=True)
class Effect:
    """``target := value``: one variable of the state after the step."""

    target: Var
    value: Expr


def children(node: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``node``."""
    match node:
        case Not(operand=o):
            return (o,)
        case BoolOp(left=a, right=b) | Compare(left=a, right=b):
            return (a, b)
        case Quantifier(body=b):
            return (b,)
        case IfThenElse(cond=c, then=t, orelse=e):
            return (c, t, e)
    return ()


def walk(node: Expr):
    """Every node of the tree, parents before children."""
    yield node
    for child in children(node):
        yield from walk(child)


def is_local(node: Expr) -> bool:
    """True when ``node`` reads only device variables and the queue in context.

    Local expressions can be evaluated on one queue at a time, which is what
    lets the explorer memoize per-queue transitions.
    """
    return not any(isinstance(n, Quantifier) or (isinstance(n, Var) and n.index is not None) for n in walk(node))
