"""Compiles a filter AST to one SQL condition with named bound parameters.

Every identifier is handed to a ``Resolver``, which answers with SQL for it
(``Resolved``); literals always become parameters. The comparison rules follow
PocketBase so that the same filter selects the same rows:

* ``=``/``!=`` treat NULL and "" alike (a missing value equals ``""``/``null``);
* ``~`` wraps a value without ``%`` in ``%...%`` after escaping ``\\ % _``;
* on multi-valued operands, plain operators mean "every item" (a correlated
  NOT EXISTS), and the ``?`` operators mean "at least one".
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from keelbase.core.dialect import Dialect
from keelbase.core.filter.ast import (
    And,
    Comparison,
    Expr,
    Function,
    Identifier,
    Literal,
    Operand,
    Predicate,
)
from keelbase.core.filter.errors import FilterError
from keelbase.core.filter.search import search_words


class NullFallback(Enum):
    AUTO = 0
    DISABLED = 1  # compare with IS / IS NOT (json values, geoDistance)
    ENFORCED = 2  # never treated as known non-empty (strftime)


class Params:
    """Named parameters of one statement; names are ``:p0``, ``:p1``, ..."""

    def __init__(self, prefix: str = "p") -> None:
        self.values: dict[str, Any] = {}
        self._prefix = prefix
        self._next = itertools.count()

    def add(self, value: Any) -> str:
        name = f"{self._prefix}{next(self._next)}"
        self.values[name] = value
        return ":" + name

    def unique_suffix(self) -> int:
        return next(self._next)


@dataclass
class MultiMatch:
    """A correlated subquery selecting every item of a multi-valued operand as ``mmv``."""

    subquery: str


@dataclass
class Resolved:
    sql: str
    params: list[str] = field(default_factory=list)  # names of the params ``sql`` uses
    null_fallback: NullFallback = NullFallback.AUTO
    multi: MultiMatch | None = None
    after_build: Callable[[str], str] | None = None
    raw_literal: str | None = None  # "NULL", "TRUE", "1", ... for raw SQL literals
    is_value: bool = False  # a bound value (literal or request data), not a column
    guarded: str | None = None  # for sorting: the value where the caller may see it, else NULL
    # What the SQL yields: "text", "number", "bool", "json" (a value read from JSON),
    # "jsontext" (a column of JSON text), "null" ("" unknown). SQLite
    # compares any two types and ignores it; a strictly typed database casts by it.
    kind: str = ""

    def with_sql(self, sql: str) -> Resolved:
        return Resolved(
            sql, self.params, self.null_fallback, None, None, self.raw_literal, kind=self.kind
        )


class Resolver(Protocol):
    dialect: Dialect
    params: Params

    def resolve(self, name: str) -> Resolved:
        """SQL for an identifier, or ``FilterError`` saying why it cannot be used."""
        ...

    def resolve_macro(self, name: str) -> Resolved | None:
        """A date macro such as ``@now``, or ``None``."""
        ...

    def resolve_search(self, field: str | None, words: tuple[str, ...]) -> str:
        """The condition of ``search([field,] 'words')``: the record holds every word
        (in ``field``, or in any searchable field); ``FilterError`` where it cannot."""
        ...


_EMPTY_RAW = {"NULL", "''"}
_NON_EMPTY_RAW = {"1", "0", "TRUE", "FALSE"}
_UNESCAPED_PERCENT = re.compile(r"(?<!\\)%")


def compile_filter(expr: Expr, resolver: Resolver) -> str:
    """SQL for the whole expression; parameters are added to ``resolver.params``."""
    return _Compiler(resolver).expr(expr)


class _Compiler:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.params = resolver.params
        self.dialect = resolver.dialect

    def expr(self, node: Expr) -> str:
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, Predicate):
            return self.predicate(node.function)
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(self.expr(item) for item in node.items) + ")"

    # Operands -------------------------------------------------------------

    def operand(self, node: Operand) -> Resolved:
        if isinstance(node, Literal):
            return self.literal(node.value)
        if isinstance(node, Identifier):
            if node.name.startswith("@"):
                macro = self.resolver.resolve_macro(node.name)
                if macro is not None:
                    return macro
            return self.resolver.resolve(node.name)
        return self.function(node)

    def literal(self, value: Any) -> Resolved:
        if value is None:
            return Resolved("NULL", raw_literal="NULL", kind="null")
        if value is True:
            return Resolved("1", raw_literal="1", kind="number")
        if value is False:
            return Resolved("0", raw_literal="0", kind="number")
        kind = "text"
        if isinstance(value, int | float):
            value = float(value)
            kind = "number"
            if not math.isfinite(value):
                raise FilterError("the number is too large")
        name = self.params.add(value)
        return Resolved(name, [name[1:]], is_value=True, kind=kind)

    def function(self, node: Function) -> Resolved:
        if node.name == "geoDistance":
            if len(node.args) != 4:
                raise FilterError("[geoDistance] expects exactly 4 arguments")
            parts: list[str] = []
            params: list[str] = []
            for index, arg in enumerate(node.args):
                if isinstance(arg, Function) or (
                    isinstance(arg, Literal) and not isinstance(arg.value, int | float)
                ):
                    raise FilterError(
                        f"[geoDistance] argument {index} must be an identifier or number"
                    )
                resolved = self.operand(arg)
                if resolved.multi is not None:
                    raise FilterError(f"[geoDistance] argument {index} must be a single value")
                parts.append(resolved.sql)
                params.extend(resolved.params)
            return Resolved(
                self.dialect.geo_distance(*parts),
                params,
                null_fallback=NullFallback.DISABLED,
                kind="number",
            )
        if node.name == "strftime":
            if not node.args or len(node.args) > 10:
                raise FilterError("[strftime] expects between 1 and 10 arguments")
            fmt = node.args[0]
            if not isinstance(fmt, Literal) or not isinstance(fmt.value, str):
                raise FilterError("[strftime] expects the first argument to be a format string")
            fmt_sql = self.params.add(fmt.value)
            if len(node.args) == 1:
                return Resolved(
                    f"strftime({fmt_sql})", [fmt_sql[1:]], NullFallback.ENFORCED, kind="text"
                )
            time = self.operand(node.args[1])
            modifiers: list[str] = []
            for index, arg in enumerate(node.args[2:], start=2):
                if not isinstance(arg, Literal) or not isinstance(arg.value, str):
                    raise FilterError(
                        f"[strftime] invalid modifier argument {index} - can be only string"
                    )
                modifiers.append(self.params.add(arg.value))

            def wrap(inner: str) -> str:
                return self.dialect.strftime(fmt_sql, ", ".join([inner, *modifiers]))

            multi = None
            if time.multi is not None:
                multi = MultiMatch(_rewrap_multi(time.multi.subquery, wrap))
            return Resolved(
                wrap(time.sql),
                [fmt_sql[1:], *time.params],
                NullFallback.ENFORCED,
                multi,
                kind="text",
            )
        raise FilterError(f"unknown function {node.name!r}")

    def predicate(self, node: Function) -> str:
        """A function that is a condition by itself: only ``search``."""
        if node.name != "search":
            raise FilterError(f"[{node.name}] needs a comparison (an operator and a value)")
        args = node.args
        if len(args) not in (1, 2):
            raise FilterError("[search] expects 1 or 2 arguments: [field,] 'words'")
        text = args[-1]
        if not isinstance(text, Literal) or not isinstance(text.value, str):
            raise FilterError("[search] expects the words as a quoted text")
        field: str | None = None
        if len(args) == 2:
            if not isinstance(args[0], Identifier):
                raise FilterError("[search] expects a field name as its first argument")
            field = args[0].name
        return self.resolver.resolve_search(field, search_words(text.value))

    # Comparisons ----------------------------------------------------------

    def comparison(self, node: Comparison) -> str:
        if node.op not in _OPS:
            raise FilterError(f"unknown operator {node.op!r}")
        left = self._side(node.left, "left")
        right = self._side(node.right, "right")
        base_op = node.base_op
        sql = self.build(base_op, left, right)
        if not node.any_of and (left.multi is not None or right.multi is not None):
            sql = f"(({sql}) AND {self.all_items(base_op, left, right)})"
        for resolved in (left, right):
            if resolved.after_build is not None:
                sql = resolved.after_build(sql)
        return sql

    def _side(self, node: Operand, side: str) -> Resolved:
        try:
            return self.operand(node)
        except FilterError as error:
            shown = node.name if isinstance(node, Identifier | Function) else node.value
            raise FilterError(f'invalid {side} operand "{shown}" - {error}') from error

    def all_items(self, op: str, left: Resolved, right: Resolved) -> str:
        """NOT EXISTS an item that fails the comparison: "every item matches"."""
        n = self.params.unique_suffix()
        if left.multi is not None and right.multi is not None:
            ml, mr = f"__ml{n}", f"__mr{n}"
            inner = self.build(op, left.with_sql(f"{ml}.mmv"), right.with_sql(f"{mr}.mmv"))
            return (
                f"NOT EXISTS (SELECT 1 FROM ({left.multi.subquery}) {ml} "
                f"LEFT JOIN ({right.multi.subquery}) {mr} ON 1=1 WHERE NOT ({inner}))"
            )
        multi_side = left if left.multi is not None else right
        assert multi_side.multi is not None
        sm = f"__sm{n}"
        if multi_side is left:
            inner = self.build(op, left.with_sql(f"{sm}.mmv"), right)
        else:
            inner = self.build(op, left, right.with_sql(f"{sm}.mmv"))
        return f"NOT EXISTS (SELECT 1 FROM ({multi_side.multi.subquery}) {sm} WHERE NOT ({inner}))"

    def build(self, op: str, left: Resolved, right: Resolved) -> str:
        """One comparison, after the dialect has brought both sides to one type."""
        if op in ("~", "!~"):
            right = self.like_pattern(right)
        l_sql, r_sql, empty = self.dialect.coerce(op, left, right)
        typed_left, typed_right = left.with_sql(l_sql), right.with_sql(r_sql)
        typed_left.is_value, typed_right.is_value = left.is_value, right.is_value
        if op == "=":
            return self.equal(typed_left, typed_right, True, empty)
        if op == "!=":
            return self.equal(typed_left, typed_right, False, empty)
        if op in ("~", "!~"):
            return self.dialect.like(l_sql, r_sql, op == "!~")
        return f"{l_sql} {op} {r_sql}"

    def like_pattern(self, right: Resolved) -> Resolved:
        """The right side of ``~`` as a LIKE pattern.

        A bound value without ``%`` is rewritten in place to match anywhere (see
        ``_wrap_like``); any other expression is wrapped in ``'%' || ... || '%'``.
        """
        if not right.params:
            return right.with_sql(f"('%' || {right.sql} || '%')")
        for name in right.params:
            value = self.params.values.get(name)
            if isinstance(value, float):
                value = _number_text(value)
            if isinstance(value, str):
                self.params.values[name] = _wrap_like(value)
        return right

    def equal(self, left: Resolved, right: Resolved, equal: bool, empty: str) -> str:
        """``=`` / ``!=`` where NULL and the empty value (``empty``, from ``coerce``) are alike."""
        operator = self.dialect.comparison_operator
        eq = "=" if equal else operator("IS NOT")
        null_eq = operator("IS" if equal else "IS NOT")
        concat, null_expr = ("OR", "IS NULL") if equal else ("AND", "IS NOT NULL")
        if NullFallback.DISABLED in (left.null_fallback, right.null_fallback):
            return f"{left.sql} {null_eq} {right.sql}"
        left_empty, right_empty = self.is_empty(left), self.is_empty(right)
        if left_empty and right_empty:
            return "TRUE" if equal else "FALSE"
        l_sql = empty if left_empty else left.sql
        r_sql = empty if right_empty else right.sql
        if self.known_non_empty(left) or self.known_non_empty(right):
            return f"{l_sql} {eq} {r_sql}"
        if left_empty:
            return f"({empty} {eq} {r_sql} {concat} {r_sql} {null_expr})"
        if right_empty:
            return f"({l_sql} {eq} {empty} {concat} {l_sql} {null_expr})"
        return f"COALESCE({l_sql}, {empty}) {eq} COALESCE({r_sql}, {empty})"

    def is_empty(self, resolved: Resolved) -> bool:
        if resolved.raw_literal in _EMPTY_RAW:
            return True
        if resolved.null_fallback is NullFallback.AUTO and len(resolved.params) == 1:
            return self.params.values.get(resolved.params[0]) in (None, "")
        return False

    def known_non_empty(self, resolved: Resolved) -> bool:
        if resolved.null_fallback is NullFallback.ENFORCED:
            return False
        if resolved.raw_literal in _NON_EMPTY_RAW:
            return True
        # Only a plain bound value (or its LOWER) is known; expressions with params are not.
        if resolved.params and resolved.multi is None and resolved.is_value:
            return all(self.params.values.get(p) not in (None, "") for p in resolved.params)
        return False


_OPS = frozenset({"=", "!=", ">", ">=", "<", "<=", "~", "!~"}) | frozenset(
    {"?=", "?!=", "?>", "?>=", "?<", "?<=", "?~", "?!~"}
)


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _wrap_like(value: str) -> str:
    """A value without an unescaped ``%`` matches anywhere; with one, it is the user's pattern."""
    if _UNESCAPED_PERCENT.search(value):
        return value
    return "%" + _escape_unescaped(value, "\\%_") + "%"


def _escape_unescaped(value: str, special: str) -> str:
    """Backslash every special character that is not escaped yet (PocketBase's rule).

    Read right to left: a special character followed (to its left) by a backslash
    is already escaped, and that backslash is its escape, not a character of its own.
    """
    out: list[str] = []
    pending = False
    for index in range(len(value) - 1, -1, -1):
        ch = value[index]
        if pending:
            if ch != "\\":
                out.append("\\")
            pending = False
        elif ch in special:
            pending = True
        out.append(ch)
        if index == 0 and pending:
            out.append("\\")
    return "".join(reversed(out))


def _rewrap_multi(subquery: str, wrap: Callable[[str], str]) -> str:
    """Apply ``wrap`` to the selected value of a multi-match subquery."""
    prefix, _, rest = subquery.partition("SELECT ")
    value, sep, tail = rest.partition(" AS mmv")
    return f"{prefix}SELECT {wrap(value)}{sep}{tail}"
