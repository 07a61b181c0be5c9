"""A resolver over a fixed set of columns, for filtering things that are not records
(the collections list, logs). Only plain names are allowed; no ``@`` names."""

from __future__ import annotations

from keelbase.core.dialect import Dialect
from keelbase.core.filter.compiler import NullFallback, Params, Resolved
from keelbase.core.filter.errors import FilterError
from keelbase.core.records.resolver import macro_values


class ColumnsResolver:
    def __init__(
        self,
        dialect: Dialect,
        columns: dict[str, str],
        json_columns: frozenset[str] = frozenset(),
        kinds: dict[str, str] | None = None,
    ) -> None:
        self.kinds = kinds or {}
        self.dialect = dialect
        self.params = Params()
        self.columns = columns
        self.json_columns = json_columns

    def resolve(self, name: str) -> Resolved:
        column = self.columns.get(name)
        if column is None:
            raise FilterError(f'unknown field "{name}"')
        fallback = NullFallback.DISABLED if name in self.json_columns else NullFallback.AUTO
        return Resolved(column, null_fallback=fallback, kind=self.kinds.get(name, ""))

    def resolve_search(self, field: str | None, words: tuple[str, ...]) -> str:
        raise FilterError("[search] works only in a searchable collection's list filter")

    def resolve_macro(self, name: str) -> Resolved | None:
        values = macro_values()
        if name not in values:
            return None
        param = self.params.add(values[name])
        return Resolved(param, [param[1:]], kind="text")
