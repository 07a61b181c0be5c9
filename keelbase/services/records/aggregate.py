"""Counts, sums, averages, minimums and maximums of records, grouped, under the list rule.

An aggregate sees exactly the rows a list with the same ``filter`` would return
to the caller: the collection's list rule and the client's filter are compiled
by the same ``RecordQuery`` as a list, and related collections reached by a
path obey their own list rules as in a list's filter and sort. When the filter
needs joins that may repeat a row, the rows are picked by a subquery first, so
that every record counts once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.schema import Schema
from keelbase.core.filter import FilterError
from keelbase.core.records.resolver import RecordResolver
from keelbase.core.request_info import RequestInfo
from keelbase.errors import MSG_SUPERUSER_ONLY, ForbiddenError
from keelbase.services.records.listing import MAX_FILTER_LENGTH, invalid_query
from keelbase.services.records.query import RecordQuery
from keelbase.store.base import Store

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_GROUP_BY = 4
MAX_MEASURES = 16
FUNCTIONS = ("sum", "avg", "min", "max")
_ORDERABLE = frozenset({"number", "text"})
_COUNT_VALUES = frozenset({"", "1", "true", "*"})


@dataclass(frozen=True)
class AggregateParams:
    """What to compute: ``group_by`` paths, and per function the paths it applies to."""

    group_by: tuple[str, ...] = ()
    sum: tuple[str, ...] = ()
    avg: tuple[str, ...] = ()
    min: tuple[str, ...] = ()
    max: tuple[str, ...] = ()
    filter: str = ""
    sort: str = ""
    limit: int = DEFAULT_LIMIT
    # values for {:name} placeholders in ``filter`` (server code only; never from a query string)
    filter_params: dict[str, Any] | None = field(default=None, compare=False)

    @classmethod
    def from_query(cls, query: dict[str, str]) -> AggregateParams:
        raw_limit = query.get("limit") or ""
        limit = DEFAULT_LIMIT
        if raw_limit:
            try:
                limit = int(raw_limit)
            except ValueError as error:
                raise invalid_query("limit", "Must be a whole number.") from error
        filter_text = query.get("filter", "")
        if len(filter_text) > MAX_FILTER_LENGTH:
            raise invalid_query("filter", "max filter length limit reached")
        if query.get("count", "") not in _COUNT_VALUES:
            # Every group has its count; a count of some fields is not a thing we do.
            raise invalid_query("count", "Every group has its count: count takes no fields.")
        return cls(
            group_by=_paths(query.get("groupBy", "")),
            sum=_paths(query.get("sum", "")),
            avg=_paths(query.get("avg", "")),
            min=_paths(query.get("min", "")),
            max=_paths(query.get("max", "")),
            filter=filter_text,
            sort=query.get("sort", ""),
            limit=limit,
        )

    def measures(self) -> list[tuple[str, str]]:
        return [(fn, path) for fn in FUNCTIONS for path in getattr(self, fn)]


def _paths(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))


class Aggregator:
    """Runs aggregates for the API and for hooks (``app.aggregate``)."""

    def __init__(self, store: Store, schema: Callable[[], Schema]) -> None:
        self.store = store
        self._schema = schema

    async def aggregate(
        self, collection: Collection, params: AggregateParams, info: RequestInfo
    ) -> dict[str, Any]:
        """``{"items": [{"group", "count", "sum", ...}], "limit", "truncated"}``;
        ``BadRequestError`` for a path that cannot be aggregated so."""
        if collection.listRule is None and not info.is_superuser:
            raise ForbiddenError(MSG_SUPERUSER_ONLY)
        plan = _Plan(self.store, self._schema(), collection, params, info)
        sql, values = plan.sql()
        async with self.store.read() as conn:
            rows = await conn.fetch_all(sql, values)
        truncated = len(rows) > params.limit
        items = [plan.item(row) for row in rows[: params.limit]]
        return {"items": items, "limit": params.limit, "truncated": truncated}


class _Plan:
    def __init__(
        self,
        store: Store,
        schema: Schema,
        collection: Collection,
        params: AggregateParams,
        info: RequestInfo,
    ) -> None:
        if not 1 <= params.limit <= MAX_LIMIT:
            raise invalid_query("limit", f"Must be between 1 and {MAX_LIMIT}.")
        if len(params.group_by) > MAX_GROUP_BY:
            raise invalid_query("groupBy", f"At most {MAX_GROUP_BY} paths.")
        if len(params.measures()) > MAX_MEASURES:
            raise invalid_query(
                "sum", f"At most {MAX_MEASURES} sums, averages, minimums and maximums."
            )
        self.params = params
        self.dialect = store.dialect
        self.collection = collection
        self.rows = RecordQuery(store, schema, collection, info)
        self.rows.add_rule(collection.listRule)
        self.rows.add_client_filter(params.filter, params.filter_params)
        superuser = info.is_superuser
        # The paths measured: a second resolver over the same parameters, whose
        # joins (single-valued only) never repeat a row.
        self.paths = RecordResolver(
            schema,
            collection,
            store.dialect,
            info,
            params=self.rows.resolver.params,
            allow_hidden=superuser,
            restrict_joins=not superuser,
        )
        self.groups: list[tuple[str, str, str]] = []  # (path, sql, kind)
        for path in params.group_by:
            sql, kind = self._path("groupBy", path)
            if kind not in ("number", "text", "bool"):
                raise invalid_query("groupBy", f'Cannot group by "{path}".')
            self.groups.append((path, sql, kind))
        self.measures: list[tuple[str, str, str, str]] = []  # (fn, path, sql, kind)
        for fn, path in params.measures():
            sql, kind = self._path(fn, path)
            if fn in ("sum", "avg") and kind != "number":
                raise invalid_query(fn, f'"{path}" is not a number field.')
            if kind not in _ORDERABLE:
                raise invalid_query(fn, f'Cannot compute the {fn} of "{path}".')
            self.measures.append((fn, path, sql, kind))
        self.order = self._order()

    def _path(self, key: str, path: str) -> tuple[str, str]:
        if path.startswith("@"):
            raise invalid_query(key, f'Unknown field "{path}".')
        try:
            resolved = self.paths.resolve(path)
        except FilterError as error:
            raise invalid_query(key, f'Invalid field "{path}" - {error}') from error
        if resolved.multi is not None:
            raise invalid_query(key, f'"{path}" has many values per record.')
        return resolved.guarded or resolved.sql, resolved.kind

    def _order(self) -> list[str]:
        names = {"count": '"count"'}
        for position, (path, _, _) in enumerate(self.groups):
            names[path] = f'"g{position}"'
        for position, (fn, path, _, _) in enumerate(self.measures):
            names[f"{fn}.{path}"] = f'"m{position}"'
        order: list[str] = []
        for part in self.params.sort.split(","):
            part = part.strip()
            if not part:
                continue
            direction = "DESC" if part.startswith("-") else "ASC"
            name = part.lstrip("+-")
            if name not in names:
                raise invalid_query("sort", f'Unknown sort key "{name}".')
            order.append(f"{names[name]} {_nulls(direction)}")
        order.extend(f'"g{i}" {_nulls("ASC")}' for i in range(len(self.groups)))
        return order

    def sql(self) -> tuple[str, dict[str, Any]]:
        q = self.dialect.quote
        alias = q(self.collection.name)
        columns = [f'{sql} AS "g{i}"' for i, (_, sql, _) in enumerate(self.groups)]
        columns.append('COUNT(*) AS "count"')
        for i, (fn, _, sql, _) in enumerate(self.measures):
            columns.append(f'{fn.upper()}({sql}) AS "m{i}"')
        if self.rows.resolver.has_joins:
            rowid = self.dialect.rowid(alias)
            where = [
                f"{rowid} IN (SELECT {rowid} {self.rows.from_sql()} WHERE {self.rows.where_sql()})"
            ]
        else:
            where = [self.rows.where_sql()]
        where.extend(self.paths.join_checks.values())
        sql = (
            f"SELECT {', '.join(columns)} FROM {alias} {alias} {self.paths.join_sql()} "
            f"WHERE {' AND '.join(where)}"
        )
        if self.groups:
            sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(self.groups)))
        if self.order:
            sql += " ORDER BY " + ", ".join(self.order)
        values = dict(self.rows.params)
        if self.groups:
            sql += " LIMIT :__limit"
            values["__limit"] = self.params.limit + 1
        return sql, values

    def item(self, row: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.groups:
            out["group"] = {
                path: _typed(row[f"g{i}"], kind) for i, (path, _, kind) in enumerate(self.groups)
            }
        out["count"] = int(row["count"] or 0)
        for fn in FUNCTIONS:
            values = {
                path: _typed(row[f"m{i}"], kind)
                for i, (f, path, _, kind) in enumerate(self.measures)
                if f == fn
            }
            if fn == "sum":
                values = {k: 0 if v is None else v for k, v in values.items()}
            if values:
                out[fn] = values
        return out


def _nulls(direction: str) -> str:
    """Empty values first, as lists sort them, on both stores."""
    return f"{direction} NULLS FIRST" if direction == "ASC" else f"{direction} NULLS LAST"


def _typed(value: Any, kind: str) -> Any:
    """A value as PocketBase writes it: numbers without a needless ``.0``, booleans as such."""
    if value is None:
        return None
    if kind == "bool":
        return bool(value) if not isinstance(value, str) else value not in ("", "0", "false")
    if kind == "number":
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    return value
