"""Reads ``CREATE [UNIQUE] INDEX`` statements as PocketBase stores them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from keelbase.core.sql_text import split_top_level

_INDEX = re.compile(
    r"(?is)^\s*create\s+(unique\s+)?\s*index\s*(if\s+not\s+exists\s+)?(\S*)\s+on\s+(\S*)\s*\(([\s\S]*)\)(?:\s*where\s+([\s\S]*))?\s*;?\s*$"
)
_QUOTES = "`\"'[]"


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    unique: bool
    columns: tuple[str, ...]
    where: str
    if_not_exists: bool = False


def unquote(name: str) -> str:
    return name.strip().strip(_QUOTES)


def parse_index(sql: str) -> Index | None:
    match = _INDEX.match(sql)
    if not match:
        return None
    unique, if_not_exists, name, table, columns, where = match.groups()
    name = unquote(name)
    if not name:
        return None
    cols = tuple(split_top_level(columns))
    if not cols:
        return None
    return Index(
        name=name,
        table=unquote(table),
        unique=bool(unique),
        columns=cols,
        where=(where or "").strip().rstrip(";").strip(),
        if_not_exists=bool(if_not_exists),
    )


def column_name(column: str) -> str:
    """The bare column of an index column spec such as ``\\`email\\` COLLATE NOCASE``."""
    return unquote(column.split()[0]) if column.split() else ""


def has_single_unique_index(indexes: list[str], field: str) -> bool:
    for sql in indexes:
        index = parse_index(sql)
        if (
            index
            and index.unique
            and len(index.columns) == 1
            and column_name(index.columns[0]) == field
        ):
            return True
    return False
