"""SQL for reading records under the collection's rules.

One ``RecordQuery`` per request: it owns the resolver (joins and parameters)
that the rule, the client's filter and the sort share.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.schema import Schema
from keelbase.core.fields import Storage
from keelbase.core.filter import FilterError, parse, parse_bound
from keelbase.core.filter.compiler import Resolved, compile_filter
from keelbase.core.records.resolver import RecordResolver
from keelbase.core.request_info import RequestInfo
from keelbase.errors import ForbiddenError
from keelbase.services.records.listing import invalid_query, parse_sort
from keelbase.store.base import Store


class RecordQuery:
    def __init__(
        self, store: Store, schema: Schema, collection: Collection, info: RequestInfo
    ) -> None:
        self.store = store
        self.dialect = store.dialect
        self.schema = schema
        self.collection = collection
        self.info = info
        self.alias = collection.name
        self.resolver = RecordResolver(schema, collection, store.dialect, info, allow_hidden=True)
        self.conditions: list[str] = []
        self.order: list[str] = []
        self.never_null: set[str] = set()  # the ``order`` items of NOT NULL columns

    @property
    def params(self) -> dict[str, Any]:
        return self.resolver.params.values

    def q(self, name: str) -> str:
        return self.dialect.quote(name)

    def add_rule(self, rule: str | None) -> None:
        """AND the rule in (superusers and empty rules add nothing)."""
        if self.info.is_superuser or rule is None or not rule.strip():
            return
        self.add_condition(rule, allow_hidden=True)

    def add_condition(
        self, text: str, allow_hidden: bool, params: dict[str, Any] | None = None
    ) -> None:
        saved = self.resolver.allow_hidden
        self.resolver.allow_hidden = allow_hidden
        try:
            expr = parse(text) if params is None else parse_bound(text, params)
            if expr is not None:
                self.conditions.append(compile_filter(expr, self.resolver))
        finally:
            self.resolver.allow_hidden = saved

    def add_client_filter(
        self, text: str, params: dict[str, Any] | None = None, *, search: bool = True
    ) -> None:
        """A client's ``filter``: hidden fields and rule-locked relations only for superusers.

        ``search`` is false where the row is not read from its table (a realtime
        check of a one-row CTE): the full-text index cannot answer for it.
        """
        if not text.strip():
            return
        superuser = self.info.is_superuser
        if not superuser:
            for marker in ("@collection.", "@request."):
                if marker in text:
                    raise ForbiddenError(f"Only superusers can filter by {marker.rstrip('.')}.")
        self.resolver.restrict_joins = not superuser
        self.resolver.search_allowed = search
        try:
            self.add_condition(text, allow_hidden=superuser, params=params)
        except FilterError as error:
            raise invalid_query("filter", str(error)) from error
        finally:
            self.resolver.restrict_joins = False
            self.resolver.search_allowed = False

    def add_sort(self, sort: str) -> None:
        superuser = self.info.is_superuser
        if not superuser and ("@collection." in sort or "@request." in sort):
            raise ForbiddenError("Only superusers can sort by @collection or @request.")
        saved = self.resolver.allow_hidden
        self.resolver.allow_hidden = superuser
        self.resolver.restrict_joins = not superuser
        try:
            for name, direction in parse_sort(sort):
                if name == "@random":
                    self.order.append(self.dialect.random())
                    continue
                if name == "@rank":
                    try:
                        self.order.append(f"{self.resolver.resolve_rank()} {direction}")
                    except FilterError as error:
                        raise invalid_query("sort", str(error)) from error
                    continue
                if name == "@rowid":
                    if self.collection.is_view and self.dialect.name != "sqlite":
                        # A PostgreSQL view has no rowid: its rows stay in the view's
                        # own order, as SQLite's view rowids follow its rows' order.
                        continue
                    self.order.append(f"{self.dialect.rowid(self.q(self.alias))} {direction}")
                    continue
                try:
                    resolved = self.resolver.resolve(name)
                except FilterError as error:
                    raise invalid_query("sort", f'invalid sort field "{name}" - {error}') from error
                if resolved.is_value or resolved.raw_literal is not None:
                    raise invalid_query("sort", f'invalid sort field "{name}"')
                item = f"{resolved.guarded or resolved.sql} {direction}"
                self.order.append(item)
                if self._own_not_null_column(name, resolved):
                    self.never_null.add(item)
        finally:
            self.resolver.allow_hidden = saved
            self.resolver.restrict_joins = False

    def _own_not_null_column(self, name: str, resolved: Resolved) -> bool:
        """The sort reads a column of this collection's own table that is never NULL
        (every kind but a JSON value); a view's columns may be."""
        if self.collection.is_view or resolved.guarded is not None:
            return False
        field = self.collection.field(name)
        if field is None or field.storage_kind is Storage.JSON:
            return False
        return resolved.sql == f"{self.q(self.alias)}.{self.q(field.name)}"

    def from_sql(self, ranked: bool = False) -> str:
        """The FROM clause; ``ranked`` adds what a sort by ``@rank`` reads (selects only)."""
        joins = self.resolver.join_sql()
        if ranked and self.resolver.rank_join:
            joins += " " + self.resolver.rank_join
        return f"FROM {self.q(self.collection.name)} {self.q(self.alias)} {joins}"

    def where_sql(self) -> str:
        conditions = [*self.conditions, *self.resolver.join_checks.values()]
        return " AND ".join(conditions) if conditions else "1=1"

    def select_sql(self, limit: bool = True) -> str:
        sql = self.dialect.select_rows(
            self.q(self.alias),
            self.from_sql(ranked=True),
            self.where_sql(),
            self.order,
            joined=self.resolver.has_joins,
            table=not self.collection.is_view,
            never_null=frozenset(self.never_null),
        )
        if limit:
            sql += " LIMIT :__limit OFFSET :__offset"
        return sql

    def resumable(self) -> bool:
        """A filtered list of one table's own rows without a sort: its total may be
        counted on from the page's last row (``select_in_rowid_order_sql``, ``count_after_sql``)."""
        return (
            not self.collection.is_view
            and not self.order
            and not self.resolver.has_joins
            and bool(self.conditions or self.resolver.join_checks)
        )

    def select_in_rowid_order_sql(self) -> str:
        """The page in rowid order, each row with its rowid as ``__rowid`` (for
        ``count_after_sql``). Used only where the plain select's plan already walks the
        table in rowid order, so the rows and their order stay what they were."""
        rowid = self.dialect.rowid(self.q(self.alias))
        return (
            f'SELECT {self.q(self.alias)}.*, {rowid} AS "__rowid" {self.from_sql()} '
            f"WHERE {self.where_sql()} ORDER BY {rowid} LIMIT :__limit OFFSET :__offset"
        )

    def count_after_sql(self) -> str:
        """The matches past rowid ``:__after``: with a full page's offset and length,
        the total, from one pass over the table instead of two."""
        rowid = self.dialect.rowid(self.q(self.alias))
        return (
            f"SELECT COUNT(*) {self.from_sql()} WHERE ({self.where_sql()}) AND {rowid} > :__after"
        )

    def count_sql(self) -> str:
        if self.resolver.has_joins:
            key = (
                f"{self.q(self.alias)}.{self.q('id')}"
                if self.collection.is_view
                else self.dialect.rowid(self.q(self.alias))
            )
            return f"SELECT COUNT(DISTINCT {key}) {self.from_sql()} WHERE {self.where_sql()}"
        if not self.conditions and not self.resolver.join_checks:
            # No WHERE at all: SQLite counts a whole table from its b-tree in
            # microseconds (a "WHERE 1=1" would turn that into a scan of every row);
            # PostgreSQL reads the count its triggers keep.
            if self.collection.is_view:
                return f"SELECT COUNT(*) {self.from_sql()}"
            return self.dialect.count_table(self.q(self.collection.name), self.from_sql())
        return f"SELECT COUNT(*) {self.from_sql()} WHERE {self.where_sql()}"
