"""Recursive-descent parser: ``&&`` binds tighter than ``||``, as in SQL."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from keelbase.core.filter.ast import (
    And,
    Comparison,
    Expr,
    Function,
    Identifier,
    Literal,
    Or,
    Predicate,
)
from keelbase.core.filter.ast import Operand as OperandNode
from keelbase.core.filter.errors import FilterError
from keelbase.core.filter.lexer import Kind, Token, tokenize

MAX_LENGTH = 10_000
MAX_COMPARISONS = 200
MAX_DEPTH = 32
_KEYWORDS: dict[str, Literal] = {
    "true": Literal(True),
    "false": Literal(False),
    "null": Literal(None),
}


# A pure function of the filter text (the AST is immutable): nothing invalidates it.
@lru_cache(maxsize=2048)
def parse(text: str) -> Expr | None:
    """The AST of a filter; ``None`` for an empty one. Raises ``FilterError``."""
    return parse_bound(text, None)


def parse_bound(text: str, params: dict[str, Any] | None) -> Expr | None:
    """Like ``parse``, with ``{:name}`` placeholders taken from ``params`` as literal values.

    Placeholders are for server code; without ``params`` they are an error, so a
    client's filter can never refer to server-side values.
    """
    if len(text) > MAX_LENGTH:
        raise FilterError(f"the filter is longer than {MAX_LENGTH} characters")
    tokens = tokenize(text)
    if not tokens:
        return None
    return _Parser(tokens, params).parse_all()


def _literal(value: Any) -> Literal:
    if value is None or isinstance(value, bool | int | float | str):
        return Literal(value)
    return Literal(json.dumps(value, default=str))


class _Parser:
    def __init__(self, tokens: list[Token], params: dict[str, Any] | None = None) -> None:
        self.tokens = tokens
        self.params = params
        self.pos = 0
        self.comparisons = 0
        self.depth = 0

    def parse_all(self) -> Expr:
        expr = self.parse_or()
        if self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            raise FilterError(f"unexpected {token.value!r} at position {token.pos}")
        return expr

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise FilterError("the filter ends too early")
        self.pos += 1
        return token

    def parse_or(self) -> Expr:
        items = [self.parse_and()]
        while (token := self.peek()) is not None and token.value == "||":
            self.pos += 1
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Expr:
        items = [self.parse_primary()]
        while (token := self.peek()) is not None and token.value == "&&":
            self.pos += 1
            items.append(self.parse_primary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_primary(self) -> Expr:
        token = self.peek()
        if token is not None and token.kind is Kind.LPAREN:
            self.pos += 1
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise FilterError(f"more than {MAX_DEPTH} nested groups")
            expr = self.parse_or()
            closing = self.take()
            if closing.kind is not Kind.RPAREN:
                raise FilterError(f"expected ')' at position {closing.pos}")
            self.depth -= 1
            return expr
        left = self.parse_operand()
        after = self.peek()
        if isinstance(left, Function) and (after is None or after.kind is not Kind.OP):
            self.comparisons += 1
            return Predicate(left)
        op = self.take()
        if op.kind is not Kind.OP:
            raise FilterError(f"expected an operator at position {op.pos}, got {op.value!r}")
        right = self.parse_operand()
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise FilterError(f"more than {MAX_COMPARISONS} comparisons")
        return Comparison(left, op.value, right)

    def parse_operand(self) -> OperandNode:
        token = self.take()
        if token.kind is Kind.TEXT:
            return Literal(token.value)
        if token.kind is Kind.PARAM:
            if self.params is None or token.value not in self.params:
                raise FilterError(f"no value for the placeholder {{:{token.value}}}")
            return _literal(self.params[token.value])
        if token.kind is Kind.NUMBER:
            number = float(token.value)
            if not math.isfinite(number):
                raise FilterError(f"the number at position {token.pos} is too large")
            return Literal(int(number) if "." not in token.value else number)
        if token.kind is Kind.IDENT:
            nxt = self.peek()
            if nxt is not None and nxt.kind is Kind.LPAREN:
                self.pos += 1
                return Function(token.value, self.parse_arguments())
            return _KEYWORDS.get(token.value) or Identifier(token.value)
        raise FilterError(f"expected a value at position {token.pos}, got {token.value!r}")

    def parse_arguments(self) -> tuple[OperandNode, ...]:
        args: list[OperandNode] = []
        if (token := self.peek()) is not None and token.kind is Kind.RPAREN:
            self.pos += 1
            return ()
        while True:
            args.append(self.parse_operand())
            token = self.take()
            if token.kind is Kind.RPAREN:
                return tuple(args)
            if token.kind is not Kind.COMMA:
                raise FilterError(f"expected ',' or ')' at position {token.pos}")
