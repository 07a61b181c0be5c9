"""Reads the column list of a view collection's SELECT, to give each column a field.

A column that names a field of a source collection copies that field; a
``count(...)`` is an integer number; any other expression is a json field, as
PocketBase does. This is a light reader of SQL, not a full parser: what it
cannot follow becomes a json field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from keelbase.core.sql_text import split_top_level

_IDENT = r'[`"\[]?(\w+)[`"\]]?'
_FROM_ITEM = re.compile(rf"^\s*{_IDENT}(?:\s+(?:as\s+)?{_IDENT})?\s*$", re.IGNORECASE)
_KEYWORD_SPLIT = re.compile(
    r"\b(from|where|group\s+by|order\s+by|having|limit|(?:left\s+|inner\s+|cross\s+|outer\s+|right\s+)*join|on|union)\b",
    re.IGNORECASE,
)
_COLUMN_REF = re.compile(rf"^(?:{_IDENT}\.)?{_IDENT}$")
_ALIAS = re.compile(rf"^(.*?)(?:\s+as)?\s+{_IDENT}$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class ViewColumn:
    name: str
    expression: str
    source_table: str | None  # alias or table named before the dot, if any
    source_column: str | None  # when the expression is a plain column reference

    @property
    def is_count(self) -> bool:
        return self.expression.strip().lower().startswith("count(")


def _top_level_segments(query: str) -> list[tuple[str, str]]:
    """The query cut at top-level keywords: [("select", ...), ("from", ...), ...]."""
    masked = []
    depth, quote = 0, ""
    for ch in query:
        if quote:
            masked.append(" ")
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"`":
            quote = ch
            masked.append(" ")
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        masked.append(ch if depth == 0 else " ")
    masked_text = "".join(masked)
    cuts = [
        (m.start(), m.end(), m.group(1).lower().split()[-1])
        for m in _KEYWORD_SPLIT.finditer(masked_text)
    ]
    segments: list[tuple[str, str]] = []
    start_match = re.match(r"\s*select\s+(distinct\s+)?", query, re.IGNORECASE)
    position = start_match.end() if start_match else 0
    keyword = "select"
    for begin, end, word in cuts:
        segments.append((keyword, query[position:begin]))
        keyword, position = word, end
    segments.append((keyword, query[position:]))
    return segments


def read_columns(query: str) -> tuple[list[ViewColumn], dict[str, str]]:
    """The SELECT's columns and the FROM/JOIN tables by alias (alias → table name)."""
    segments = _top_level_segments(query)
    columns: list[ViewColumn] = []
    tables: dict[str, str] = {}
    for keyword, text in segments:
        if keyword == "select":
            for item in split_top_level(text):
                columns.append(_read_column(item))
        elif keyword in ("from", "join"):
            for item in split_top_level(text):
                match = _FROM_ITEM.match(item)
                if match:
                    table, alias = match.group(1), match.group(2) or match.group(1)
                    tables[alias] = table
    return columns, tables


def _read_column(item: str) -> ViewColumn:
    expression, name = item, item
    alias_match = _ALIAS.match(item)
    if alias_match and alias_match.group(1).strip():
        expression, name = alias_match.group(1).strip(), alias_match.group(2)
    reference = _COLUMN_REF.match(expression.strip())
    if reference:
        table, column = reference.group(1), reference.group(2)
        if name == item:
            name = column
        return ViewColumn(name, expression, table, column)
    return ViewColumn(name, expression, None, None)
