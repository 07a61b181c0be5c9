"""A list query's shape: its filter and sort with every literal replaced by ``?``.

Queries that differ only in their values (``status = 'a'`` and ``status = 'b'``)
share one shape, so the advisor counts them together and never has to keep or
show the values themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from keelbase.core.filter import And, Comparison, Expr, FilterError, Function, Identifier, parse
from keelbase.core.filter.ast import Operand, Predicate

PLACEHOLDER = "?"
RANGE_OPS = frozenset({"<", "<=", ">", ">="})
MAX_INDEX_COLUMNS = 4


@dataclass(frozen=True)
class Shape:
    """What identifies a kind of list query on one collection."""

    collection_id: str
    filter: str
    sort: str
    rule: str


def normalise_filter(text: str) -> str:
    """The filter's shape, or ``""`` when it is empty; an unreadable filter keeps a marker."""
    if not text.strip():
        return ""
    try:
        expr = parse(text)
    except FilterError:
        return "<invalid>"
    return "" if expr is None else _expr(expr, top=True)


def normalise_sort(sort: str) -> str:
    """``-a, +b`` → ``-a,b``: sorts differ only in spelling stay one shape."""
    parts = []
    for part in sort.split(","):
        part = part.strip()
        if part.startswith("+"):
            part = part[1:]
        if part:
            parts.append(part)
    return ",".join(parts)


def _expr(expr: Expr, top: bool = False) -> str:
    if isinstance(expr, Comparison):
        return f"{_operand(expr.left)} {expr.op} {_operand(expr.right)}"
    if isinstance(expr, Predicate):  # search('words'): its words are literals too
        return _operand(expr.function)
    joiner = " && " if isinstance(expr, And) else " || "
    text = joiner.join(_expr(item) for item in expr.items)
    return text if top else f"({text})"


def _operand(operand: Operand) -> str:
    if isinstance(operand, Identifier):
        return operand.name
    if isinstance(operand, Function):
        return f"{operand.name}({', '.join(_operand(a) for a in operand.args)})"
    return PLACEHOLDER


@dataclass(frozen=True)
class Candidate:
    """The columns of an index that a shape's conditions and sort could walk."""

    equality: tuple[str, ...]
    sort: tuple[str, ...]
    range: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Equality columns first, then the sort, then one range column (the ESR order):
        the index narrows to the equal rows, reads them already sorted, and the
        range bounds what is left."""
        out: list[str] = []
        for name in (*self.equality, *self.sort, *self.range[:1]):
            if name not in out:
                out.append(name)
        return tuple(out[:MAX_INDEX_COLUMNS])


def candidate(filter_text: str, sort: str, fields: frozenset[str]) -> Candidate:
    """The index columns a filter and sort could use, among the collection's own ``fields``.

    Only conditions every matching row must meet (the top-level ``&&`` terms)
    count: a term inside ``||`` cannot narrow an index scan on its own. A
    relation path, a modifier (``:lower``) or a function is left out, as no
    plain column index serves it.
    """
    equality: list[str] = []
    ranges: list[str] = []
    try:
        expr = parse(filter_text) if filter_text.strip() else None
    except FilterError:
        expr = None
    for term in _conjuncts(expr):
        column, op = _column_condition(term, fields)
        if column is None:
            continue
        if op == "=" and column not in equality:
            equality.append(column)
        elif op in RANGE_OPS and column not in ranges:
            ranges.append(column)
    sort_columns: list[str] = []
    for part in normalise_sort(sort).split(","):
        name = part.lstrip("-")
        if name not in fields:
            break  # an index serves a sort's leading plain columns only
        sort_columns.append(name)
    return Candidate(tuple(equality), tuple(sort_columns), tuple(ranges))


def _conjuncts(expr: Expr | None) -> list[Comparison]:
    if expr is None:
        return []
    if isinstance(expr, Comparison):
        return [expr]
    if isinstance(expr, And):
        return [term for item in expr.items for term in _conjuncts(item)]
    return []  # Or


def _column_condition(term: Comparison, fields: frozenset[str]) -> tuple[str | None, str]:
    """``field op value`` (either way round) → (field, op); anything else → (None, op)."""
    if term.any_of:
        return None, term.op
    left, right, op = term.left, term.right, term.op
    if isinstance(right, Identifier) and right.name in fields and not _is_column(left, fields):
        left, right, op = right, left, _MIRROR.get(op, op)
    if not _is_column(left, fields) or _is_column(right, fields) or isinstance(right, Function):
        return None, op
    assert isinstance(left, Identifier)
    return left.name, op


_MIRROR = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _is_column(operand: Operand, fields: frozenset[str]) -> bool:
    return isinstance(operand, Identifier) and operand.name in fields
