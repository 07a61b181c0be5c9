"""Splits filter text into tokens; comments (``// ...``) and blanks are dropped."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from keelbase.core.filter.errors import FilterError


class Kind(Enum):
    TEXT = "text"
    NUMBER = "number"
    IDENT = "identifier"
    OP = "operator"
    JOIN = "join"
    PARAM = "placeholder"  # {:name}, bound by server code, never by clients
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    value: str
    pos: int


# Longest first, so "?!=" wins over "?!" wins over "?".
_OPERATORS = ("?!~", "?!=", "?>=", "?<=", "?=", "?>", "?<", "?~", "!=", "!~", ">=", "<=")
_SINGLE_OPERATORS = "=><~"
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_@#")
_IDENT_REST = _IDENT_START | frozenset("0123456789.:")
_DIGITS = frozenset("0123456789")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    if "\x00" in text:
        raise FilterError("the filter must not contain a NUL character")
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("{:", i):
            end = text.find("}", i)
            name = text[i + 2 : end] if end > 0 else ""
            if not name or not all(c.isalnum() or c == "_" for c in name):
                raise FilterError(f"invalid placeholder at position {i}")
            tokens.append(Token(Kind.PARAM, name, i))
            i = end + 1
        elif ch == "(":
            tokens.append(Token(Kind.LPAREN, ch, i))
            i += 1
        elif ch == ")":
            tokens.append(Token(Kind.RPAREN, ch, i))
            i += 1
        elif ch == ",":
            tokens.append(Token(Kind.COMMA, ch, i))
            i += 1
        elif text.startswith("&&", i) or text.startswith("||", i):
            tokens.append(Token(Kind.JOIN, text[i : i + 2], i))
            i += 2
        elif ch in "'\"":
            value, i = _read_text(text, i)
            tokens.append(Token(Kind.TEXT, value, i))
        elif ch in _DIGITS or (ch == "-" and i + 1 < n and text[i + 1] in _DIGITS):
            start = i
            i += 1
            while i < n and (text[i] in _DIGITS or text[i] == "."):
                i += 1
            literal = text[start:i]
            if literal.count(".") > 1 or literal.endswith("."):
                raise FilterError(f"invalid number {literal!r} at position {start}")
            tokens.append(Token(Kind.NUMBER, literal, start))
        elif ch in _IDENT_START:
            start = i
            while i < n and text[i] in _IDENT_REST:
                i += 1
            tokens.append(Token(Kind.IDENT, text[start:i], start))
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None and ch in _SINGLE_OPERATORS:
                op = ch
            if op is None:
                raise FilterError(f"unexpected character {ch!r} at position {i}")
            tokens.append(Token(Kind.OP, op, i))
            i += len(op)
    return tokens


def _read_text(text: str, start: int) -> tuple[str, int]:
    """A quoted text; a backslash escapes only the quote, as in PocketBase."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] == quote:
            out.append(text[i + 1])
            i += 2
        elif ch == quote:
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise FilterError(f"unterminated text starting at position {start}")
