"""Parse guard, effect and property strings into raw syntax trees.

A hand-written recursive-descent parser over a regular-expression tokenizer;
the grammar is in :mod:`.expr`. Names stay unresolved here (:class:`Name`);
:mod:`.resolve` binds them and checks types.

>>> parse_expr("not our_fd and state == assigned")
BoolOp(op='and', left=Not(operand=Name(name='our_fd', index=None, primed=False)), \
right=Compare(op='==', left=Name(name='state', index=None, primed=False), \
right=Name(name='assigned', index=None, primed=False)))
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ExpressionError
from .expr import BOOL, BoolOp, Compare, Expr, IfThenElse, Literal, Name, Not, Quantifier
from .shape import balanced, depth

# The deepest expression the loader accepts (spec/README.md, "Limits"). Every
# interpreter recurses over the tree, so the parser is the one gate: deeper
# text is refused with its column. 32 levels is far beyond any guard worth
# reading and keeps the deepest interpreter, this parser (about 10 frames a
# parenthesis), a third of the way into Python's default recursion limit of
# 1000. A chain of and/or is balanced (spec/shape.py): 500 terms nest 9 levels.
MAX_DEPTH = 32

KEYWORDS = frozenset({"and", "or", "not", "forall", "exists", "if", "then", "else", "true", "false"})

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>:=|==|!=|=>|[()\[\]:'])|(?P<bad>\S))")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "name", "op", "end"
    text: str
    pos: int


def tokenize(source: str) -> list[Token]:
    """Split ``source`` into tokens; an unknown character is an error."""
    tokens: list[Token] = []
    pos = 0
    while True:
        match = _TOKEN.match(source, pos)
        if match is None:  # only white space is left
            break
        kind = match.lastgroup
        text = match.group(kind)
        start = match.start(kind)
        if kind == "bad":
            hint = " (comparison is '==', assignment ':=')" if text == "=" else ""
            raise ExpressionError(f"unexpected character {text!r} at column {start + 1} in {excerpt(source)}{hint}")
        tokens.append(Token(kind, text, start))
        pos = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


def excerpt(value: object, limit: int = 80) -> str:
    """``value`` quoted for a message, shortened when it is long.

    >>> excerpt("not " * 30 + "x")
    "'not not not not not not not not not not not not not not not not not not not...'"
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.at = 0
        self.nesting = 0

    # -- token helpers ------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def error(self, expected: str) -> ExpressionError:
        tok = self.token
        found = "end of text" if tok.kind == "end" else repr(tok.text)
        return ExpressionError(f"expected {expected} at column {tok.pos + 1}, found {found} in {excerpt(self.source)}")

    def nested(self, tok: Token, parse: Callable[[], Expr]) -> Expr:
        """``parse()`` one level deeper; refused past :data:`MAX_DEPTH`."""
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise ExpressionError(
                f"nested deeper than the limit of {MAX_DEPTH} levels at column {tok.pos + 1} "
                f"(spec/README.md, Limits) in {excerpt(self.source)}"
            )
        try:
            return parse()
        finally:
            self.nesting -= 1

    def accept(self, text: str) -> Token | None:
        tok = self.token
        if tok.text == text and (tok.kind == "op" or text in KEYWORDS):
            self.at += 1
            return tok
        return None

    def expect(self, text: str) -> Token:
        tok = self.accept(text)
        if tok is None:
            raise self.error(repr(text))
        return tok

    def identifier(self) -> Token:
        tok = self.token
        if tok.kind != "name" or tok.text in KEYWORDS:
            raise self.error("a name")
        self.at += 1
        return tok

    def finish(self) -> None:
        if self.token.kind != "end":
            raise self.error("end of text")

    # -- grammar ------------------------------------------------------------
    def expr(self) -> Expr:
        for kind in ("forall", "exists"):
            tok = self.accept(kind)
            if tok:
                var = self.identifier().text
                self.expect(":")
                return Quantifier(kind, var, self.nested(tok, self.expr), pos=tok.pos)
        return self.implies()

    def implies(self) -> Expr:
        left = self.disjunction()
        tok = self.accept("=>")
        if tok:
            return BoolOp("=>", left, self.nested(tok, self.expr), pos=tok.pos)
        return left

    def disjunction(self) -> Expr:
        return self.chain("or", self.conjunction)

    def conjunction(self) -> Expr:
        return self.chain("and", self.negation)

    def chain(self, op: str, operand: Callable[[], Expr]) -> Expr:
        """``operand (op operand)*``, as a balanced tree (spec/shape.py)."""
        operands, positions = [operand()], []
        while tok := self.accept(op):
            positions.append(tok.pos)
            operands.append(operand())
        return balanced(op, operands, positions)

    def negation(self) -> Expr:
        tok = self.accept("not")
        if tok:
            return Not(self.nested(tok, self.negation), pos=tok.pos)
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.primary()
        for op in ("==", "!="):
            tok = self.accept(op)
            if tok:
                return Compare(op, left, self.primary(), pos=tok.pos)
        return left

    def primary(self) -> Expr:
        tok = self.token
        if self.accept("("):
            inner = self.nested(tok, self.expr)
            self.expect(")")
            return inner
        if self.accept("true"):
            return Literal(True, BOOL, pos=tok.pos)
        if self.accept("false"):
            return Literal(False, BOOL, pos=tok.pos)
        if self.accept("if"):
            cond = self.nested(tok, self.expr)
            self.expect("then")
            then = self.nested(tok, self.expr)
            self.expect("else")
            return IfThenElse(cond, then, self.nested(tok, self.expr), pos=tok.pos)
        if tok.kind != "name" or tok.text in KEYWORDS:
            raise self.error("a value, a name or '('")
        return self.name()

    def name(self) -> Name:
        tok = self.identifier()
        primed = self.accept("'") is not None
        index = None
        if self.accept("["):
            index = self.identifier().text
            self.expect("]")
        return Name(tok.text, index, primed, pos=tok.pos)


def parse_expr(source: str) -> Expr:
    """Parse one expression; raise :class:`ExpressionError` on bad syntax."""
    if not isinstance(source, str):
        raise ExpressionError(f"expected an expression as a string, found {excerpt(source)}")
    parser = _Parser(source)
    tree = parser.expr()
    parser.finish()
    return _shallow(tree, source)


def _shallow(tree: Expr, source: str) -> Expr:
    """``tree``, refused when deeper than :data:`MAX_DEPTH`: nesting below the
    limit can still add up with long chains at every level."""
    levels = depth(tree)
    if levels > MAX_DEPTH:
        raise ExpressionError(
            f"the expression nests {levels} levels deep, past the limit of {MAX_DEPTH} levels "
            f"(spec/README.md, Limits) in {excerpt(source)}"
        )
    return tree


def parse_effect(source: str) -> tuple[Name, Expr]:
    """Parse ``target := value`` into the target name and the value's tree.

    >>> parse_effect("our_fd := false")[0].name
    'our_fd'
    """
    if not isinstance(source, str):
        raise ExpressionError(f"expected an effect 'name := value', found {excerpt(source)}")
    parser = _Parser(source)
    target = parser.name()
    if target.primed:
        raise ExpressionError(f"an effect's target is not primed: {excerpt(source)}")
    parser.expect(":=")
    value = parser.expr()
    parser.finish()
    return target, _shallow(value, source)
