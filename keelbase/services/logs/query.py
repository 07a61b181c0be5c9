"""The filter language over the logs: ``id``, ``created``, ``level``, ``message``, ``data``
and any ``data.*`` path, as PocketBase's logs API accepts them.

The logs table is a fixed, virtual schema: this resolver maps its names to
columns and JSON paths, and the filter compiler (the same one as for records)
turns a client's ``filter`` into SQL with bound parameters, asking the dialect
of whichever database keeps the logs.
"""

from __future__ import annotations

import re
from typing import Any

from keelbase.core.dialect import Dialect
from keelbase.core.filter import FilterError, parse
from keelbase.core.filter.compiler import NullFallback, Params, Resolved, compile_filter
from keelbase.core.records.resolver import macro_values
from keelbase.services.records.listing import invalid_query, parse_sort

_COLUMNS = {"id": "text", "created": "text", "level": "number", "message": "text"}
# PocketBase's pattern for the JSON paths under ``data``.
_DATA_PATH = re.compile(r"^data\.[\w.:]*\w$")
_ROWID = "@rowid"


class LogsResolver:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.params = Params()

    def resolve(self, name: str) -> Resolved:
        kind = _COLUMNS.get(name)
        if kind is not None:
            return Resolved(self.dialect.quote(name), kind=kind)
        if name == "data":
            return Resolved('"data"', null_fallback=NullFallback.DISABLED, kind="jsontext")
        if _DATA_PATH.match(name):
            path = "$"
            for part in name.split(".")[1:]:
                path += f"[{part}]" if part.isdigit() else f".{part}"
            path_sql = self.params.add(path)
            sql = self.dialect.json_extract('"data"', path_sql)
            return Resolved(sql, [path_sql[1:]], NullFallback.DISABLED, kind="json")
        raise FilterError(f'unknown field "{name}"')

    def resolve_search(self, field: str | None, words: tuple[str, ...]) -> str:
        raise FilterError("[search] works only in a searchable collection's list filter")

    def resolve_macro(self, name: str) -> Resolved | None:
        values = macro_values()
        if name not in values:
            return None
        param = self.params.add(values[name])
        return Resolved(param, [param[1:]], is_value=True, kind="text")


class LogsQuery:
    """One request's WHERE and ORDER BY over the logs, with their bound parameters."""

    def __init__(self, dialect: Dialect, rowid: str) -> None:
        self.resolver = LogsResolver(dialect)
        self._rowid = rowid
        self.where = "1=1"
        self.order: list[str] = []

    @property
    def params(self) -> dict[str, Any]:
        return self.resolver.params.values

    def filter(self, text: str) -> None:
        """Use a client's filter; ``FilterError`` says why it cannot be used."""
        if not text.strip():
            return
        expr = parse(text)
        if expr is not None:
            self.where = compile_filter(expr, self.resolver)

    def sort(self, text: str) -> None:
        for name, direction in parse_sort(text):
            if name == _ROWID:
                self.order.append(f"{self._rowid} {direction}")
                continue
            try:
                resolved = self.resolver.resolve(name)
            except FilterError as error:
                raise invalid_query("sort", f'invalid sort field "{name}" - {error}') from error
            self.order.append(f"{resolved.sql} {direction}")
