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
from dataclasses import dataclass

from .errors import ExpressionError
from .expr import BOOL, BoolOp, Compare, Expr, IfThenElse, Literal, Name, Not, Quantifier

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
            raise ExpressionError(f"unexpected character {text!r} at column {start + 1} in {source!r}{hint}")
        tokens.append(Token(kind, text, start))
        pos = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.at = 0

    # -- token helpers ------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def error(self, expected: str) -> ExpressionError:
        tok = self.token
        found = "end of text" if tok.kind == "end" else repr(tok.text)
        return ExpressionError(f"expected {expected} at column {tok.pos + 1}, found {found} in {self.source!r}")

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
                return Quantifier(kind, var, self.expr(), pos=tok.pos)
        return self.implies()

    def implies(self) -> Expr:
        left = self.disjunction()
        tok = self.accept("=>")
        if tok:
            return BoolOp("=>", left, self.expr(), pos=tok.pos)
        return left

    def disjunction(self) -> Expr:
        left = self.conjunction()
        while tok := self.accept("or"):
            left = BoolOp("or", left, self.conjunction(), pos=tok.pos)
        return left

    def conjunction(self) -> Expr:
        left = self.negation()
        while tok := self.accept("and"):
            left = BoolOp("and", left, self.negation(), pos=tok.pos)
        return left

    def negation(self) -> Expr:
        tok = self.accept("not")
        if tok:
            return Not(self.negation(), pos=tok.pos)
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
            inner = self.expr()
            self.expect(")")
            return inner
        if self.accept("true"):
            return Literal(True, BOOL, pos=tok.pos)
        if self.accept("false"):
            return Literal(False, BOOL, pos=tok.pos)
        if self.accept("if"):
            cond = self.expr()
            self.expect("then")
            then = self.expr()
            self.expect("else")
            return IfThenElse(cond, then, self.expr(), pos=tok.pos)
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
        raise ExpressionError(f"expected an expression as a string, found {source!r}")
    parser = _Parser(source)
    tree = parser.expr()
    parser.finish()
    return tree


def parse_effect(source: str) -> tuple[Name, Expr]:
    """Parse ``target := value`` into the target name and the value's tree.

    >>> parse_effect("our_fd := false")[0].name
    'our_fd'
    """
    if not isinstance(source, str):
        raise ExpressionError(f"expected an effect 'name := value', found {source!r}")
    parser = _Parser(source)
    target = parser.name()
    if target.primed:
        raise ExpressionError(f"an effect's target is not primed: {source!r}")
    parser.expect(":=")
    value = parser.expr()
    parser.finish()
    return target, value
