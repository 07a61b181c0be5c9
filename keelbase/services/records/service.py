"""Records: list, view, create, update and delete under the collection's rules.

Rules follow PocketBase: a null rule is for superusers only (403 for everyone
else), the list rule filters rows, a record the view/update/delete rule hides
is a 404, and a create that fails its rule is a 400.

An update or a delete reads its record with a row lock (``Dialect.lock_rows``)
inside its transaction and holds it until the commit: writes of one record
take turns on every store, so ``+``/``-`` modifiers, rules and hooks always
start from the value the previous write committed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, NamedTuple

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.schema import Schema
from keelbase.core.collections.schema_cache import SchemaCache
from keelbase.core.dates import format_datetime, now
from keelbase.core.fields import (
    AutodateField,
    RelationField,
    TextField,
)
from keelbase.core.ids import new_record_id
from keelbase.core.records.record import Record
from keelbase.core.request_info import SUPERUSERS, SYSTEM, RequestInfo
from keelbase.errors import (
    MSG_MISSING_COLLECTION,
    MSG_SUPERUSER_ONLY,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    field_error,
)
from keelbase.events import ListEvent, RecordCommitEvent, RecordEvent, ViewEvent
from keelbase.hooks import Hooks
from keelbase.services.collections.service import CollectionsService
from keelbase.services.files.service import FilesService, removed_names
from keelbase.services.records import codec as record_codec
from keelbase.services.records.codec import RecordCodec
from keelbase.services.records.expand import Expander, parse_expand
from keelbase.services.records.input import ResolvedInput, apply_body
from keelbase.services.records.listing import ListParams, known_total, page_result
from keelbase.services.records.query import RecordQuery
from keelbase.services.records.validation import (
    MSG_CREATE_FAILED,
    MSG_UPDATE_FAILED,
    RecordValidator,
    auth_create_errors,
    auth_update_errors,
    finish_fields,
    unique_error,
    update_time,
)
from keelbase.store.base import Connection, Store, UniqueViolation

MSG_DELETE_FAILED = "Failed to delete record. Make sure that the record is not part of a required relation reference."
MAX_CASCADE_DEPTH = 32
DeleteListener = Callable[[Connection, Record, int], Awaitable[None]]
ListTimer = Callable[[Collection, str, str, str, float], None]
# (conn, collection, record id, action, record): action is create, update, delete or reset
# (truncate); the record as written (as it was, for a delete), None for a reset.
WriteListener = Callable[[Connection, Collection, str, str, Record | None], Awaitable[None]]
MSG_LAST_SUPERUSER = "You can't delete the only existing superuser."
MSG_VERSION_CONFLICT = "The record was changed since the version the request expected."


class _ListSql(NamedTuple):
    """A list's statements and their values (without the page's limit and offset)."""

    select_sql: str
    count_sql: str
    count_after_sql: str  # "": counted from the first row (``RecordQuery.resumable``)
    values: dict[str, Any]


_FIXED_SORTS = ("@rowid", "@random", "@rank")


def _keepable(params: ListParams) -> bool:
    """Whether the filter's and sort's text alone decide the SQL and values: no ``@``
    (``@now`` and the other macros are read at each request, ``@request`` is the
    caller's; a superuser may sort by it) but the sorts that name no value, and no
    values bound from server code."""
    if params.filter_params is not None or "@" in params.filter:
        return False
    sort = params.sort
    for fixed in _FIXED_SORTS:
        sort = sort.replace(fixed, "")
    return "@" not in sort


class RecordsService:
    def __init__(
        self,
        store: Store,
        collections: CollectionsService,
        files: FilesService,
        hooks: Hooks | None = None,
    ) -> None:
        self.hooks = hooks or Hooks()
        self.store = store
        self.collections = collections
        self.files = files
        self._auth_listeners: list[Callable[[Record], None]] = []
        # A record view's SQL where no rule applies; invalidated by any schema change.
        self._static_sql: SchemaCache[tuple[str, str], tuple[str, str]] = SchemaCache(
            lambda: self.collections.schema
        )
        # Whether a filtered select's plan walks its table in rowid order, by its SQL.
        self._rowid_scans: SchemaCache[str, bool] = SchemaCache(
            lambda: self.collections.schema, limit=1024
        )
        # A list's SQL where only its sort and filter text decide it, by (kind, sort, filter).
        self._list_sql: SchemaCache[tuple[str, str, str], _ListSql] = SchemaCache(
            lambda: self.collections.schema
        )
        # Rows to records and records to JSON; its plans are invalidated by any schema change.
        self.codec = RecordCodec(lambda: self.collections.schema)
        self._validator = RecordValidator(lambda: self.collections.schema, store.dialect)
        self._event_listeners: list[Callable[[str, Record], Awaitable[None] | None]] = []
        self._delete_listeners: list[DeleteListener] = []
        self._list_timers: list[ListTimer] = []
        self._write_listeners: list[WriteListener] = []

    def on_written(self, listener: WriteListener) -> None:
        """Call ``await listener(conn, collection, record_id, action, record)`` inside the
        transaction of every write of a stored row (creates, updates by any path, deletes
        and cascades; ``reset`` for a truncate, with no record), so what it records
        commits with the write (sync's change log, the webhooks outbox)."""
        self._write_listeners.append(listener)

    async def _written(
        self,
        conn: Connection,
        collection: Collection,
        record_id: str,
        action: str,
        record: Record | None = None,
    ) -> None:
        for listener in self._write_listeners:
            await listener(conn, collection, record_id, action, record)

    def on_event(self, listener: Callable[[str, Record], Awaitable[None] | None]) -> None:
        """Call ``listener(action, record)`` after each committed create, update and delete."""
        self._event_listeners.append(listener)

    def _emit(self, conn: Connection, action: str, record: Record) -> None:
        for listener in self._event_listeners:
            conn.on_commit(lambda listener=listener: listener(action, record))  # type: ignore[misc]
        hook = {
            "create": self.hooks.record_create_commit,
            "update": self.hooks.record_update_commit,
            "delete": self.hooks.record_delete_commit,
        }[action]
        if hook.has_handlers(_tags(record.collection)):
            conn.on_commit(
                lambda: hook.notify(RecordCommitEvent(record, action), _tags(record.collection))
            )

    def on_list_timed(self, listener: ListTimer) -> None:
        """Call ``listener(collection, filter, sort, rule, seconds)`` after each list page's
        SQL ran (``rule`` is ``""`` when none applied): the index advisor's input."""
        self._list_timers.append(listener)

    def list_statement(
        self, collection: Collection, params: ListParams, info: RequestInfo
    ) -> tuple[str, dict[str, Any]]:
        """The SELECT a list page runs and its bound values, ``__limit`` and ``__offset`` included."""
        query = RecordQuery(self.store, self.schema, collection, info)
        query.add_rule(collection.listRule)
        query.add_client_filter(params.filter, params.filter_params)
        query.add_sort(params.sort)
        values = {**query.params, "__limit": params.per_page, "__offset": params.offset}
        return query.select_sql(), values

    async def column_chunks(
        self, collection: Collection, column: str, filter_text: str, info: RequestInfo, size: int
    ) -> AsyncIterator[list[tuple[str, Any]]]:
        """``(id, stored value)`` of the non-empty ``column`` of every record ``info`` may
        list that matches ``filter_text``, ``size`` at a time in id order (keyset
        pages, so memory stays bounded however many records match)."""
        query = self.listable_query(collection, filter_text, info)
        alias = query.q(query.alias)
        record_id, value = f"{alias}.{query.q('id')}", f"{alias}.{query.q(column)}"
        distinct = "DISTINCT " if query.resolver.has_joins else ""
        sql = (
            f"SELECT {distinct}{record_id} AS id, {value} AS value {query.from_sql()} "
            f"WHERE {query.where_sql()} AND {value} <> '' AND {record_id} > :__after "
            f"ORDER BY {record_id} LIMIT :__limit"
        )
        after = ""
        while True:
            async with self.store.read() as conn:
                rows = await conn.fetch_all(
                    sql, {**query.params, "__after": after, "__limit": size}
                )
            if rows:
                yield [(row["id"], row["value"]) for row in rows]
            if len(rows) < size:
                return
            after = rows[-1]["id"]

    def listable_query(
        self, collection: Collection, filter_text: str, info: RequestInfo
    ) -> RecordQuery:
        """The list rule and ``filter_text`` for ``info`` as one query (403 for a ``null``
        list rule and anyone but a superuser); no condition when neither restricts."""
        rule = collection.listRule
        if rule is None and not info.is_superuser:
            raise ForbiddenError(MSG_SUPERUSER_ONLY)
        query = RecordQuery(self.store, self.schema, collection, info)
        query.add_rule(rule)
        query.add_client_filter(filter_text)
        return query

    async def listable_ids(self, query: RecordQuery) -> list[str]:
        """The ids of every record ``query`` (``listable_query``) lets through: ids only."""
        record_id = f"{query.q(query.alias)}.{query.q('id')}"
        distinct = "DISTINCT " if query.resolver.has_joins else ""
        sql = f"SELECT {distinct}{record_id} AS id {query.from_sql()} WHERE {query.where_sql()}"
        async with self.store.read() as conn:
            rows = await conn.fetch_all(sql, query.params)
        return [row["id"] for row in rows]

    async def listable_by_ids(
        self, collection: Collection, ids: list[str], filter_text: str, info: RequestInfo
    ) -> list[Record]:
        """The records of ``ids`` that ``info`` may list and ``filter_text`` matches, read
        now: a record that left the caller's view a moment ago is not among them."""
        if not ids:
            return []
        query = self.listable_query(collection, filter_text, info)
        placeholders = ", ".join(query.resolver.params.add(i) for i in ids)
        query.conditions.append(f"{query.q(query.alias)}.{query.q('id')} IN ({placeholders})")
        async with self.store.read() as conn:
            rows = await conn.fetch_all(query.select_sql(limit=False), query.params)
        return [self.codec.from_row(collection, row) for row in rows]

    def on_delete(self, listener: DeleteListener) -> None:
        """Call ``await listener(conn, record, depth)`` inside the transaction that deletes
        ``record``, once its row and references are settled (PocketBase's
        OnRecordDeleteExecute bindings). What the listener deletes through
        ``delete_record(conn, other, depth + 1)`` runs the delete hooks, and an
        error undoes the whole delete."""
        self._delete_listeners.append(listener)

    def on_auth_change(self, listener: Callable[[Record], None]) -> None:
        """Call ``listener(record)`` after an auth record was changed or deleted."""
        self._auth_listeners.append(listener)

    def notify_auth_change(self, conn: Connection, record: Record) -> None:
        if record.collection.is_auth:
            for listener in self._auth_listeners:
                conn.on_commit(lambda listener=listener: listener(record))  # type: ignore[misc]

    @property
    def schema(self) -> Schema:
        return self.collections.schema

    def collection(self, id_or_name: str) -> Collection:
        collection = self.schema.get(id_or_name)
        if collection is None:
            raise NotFoundError(MSG_MISSING_COLLECTION)
        return collection

    # Reads ------------------------------------------------------------------

    async def list_page(
        self, collection: Collection, params: ListParams, info: RequestInfo, expand: str = ""
    ) -> dict[str, Any]:
        event = ListEvent(collection, params, info, expand)
        await self.hooks.records_list.trigger(event, self._list_action, _tags(collection))
        return event.result

    async def _list_action(self, event: ListEvent) -> None:
        collection, params, info, expand = event.collection, event.params, event.info, event.expand
        rule = collection.listRule
        if rule is None and not info.is_superuser:
            raise ForbiddenError(MSG_SUPERUSER_ONLY)
        keep = self._unconditional(collection, rule, info) and _keepable(params)
        key = ("list-su" if info.is_superuser else "list", params.sort, params.filter)
        plan = self._list_sql.get(collection, key) if keep else None
        page = {"__limit": params.per_page, "__offset": params.offset}
        if plan is None:
            query = RecordQuery(self.store, self.schema, collection, info)
            query.add_rule(rule)
            query.add_client_filter(params.filter, params.filter_params)
            query.add_sort(params.sort)
            plan = _ListSql(query.select_sql(), query.count_sql(), "", query.params)
            if query.resumable() and await self._scans_in_rowid_order(
                collection, plan.select_sql, {**plan.values, **page}
            ):
                plan = _ListSql(
                    query.select_in_rowid_order_sql(),
                    plan.count_sql,
                    query.count_after_sql(),
                    plan.values,
                )
            # Joins (a sort by a relation) may carry the caller's rules: keep only plain ones.
            if keep and not query.resolver.joins:
                self._list_sql.put(collection, key, plan)
        select_sql, count_sql, count_after_sql, values = plan
        began = time.perf_counter()
        async with self.store.read() as conn:
            rows = await conn.fetch_all(select_sql, {**values, **page})
            total = None
            if not params.skip_total:
                total = known_total(len(rows), params)
                if total is None and count_after_sql and rows:
                    # A full page of a scan in rowid order: the matches it passed are the
                    # offset and the page, so only the rest of the table is counted.
                    after = {**values, "__after": rows[-1]["__rowid"]}
                    rest = await conn.fetch_value(count_after_sql, after)
                    total = params.offset + len(rows) + int(rest or 0)
                elif total is None:
                    total = int(await conn.fetch_value(count_sql, values) or 0)
        if self._list_timers:
            seconds = time.perf_counter() - began
            applied = "" if info.is_superuser else (rule or "")
            for timer in self._list_timers:
                timer(collection, params.filter, params.sort, applied, seconds)
        records = self.codec.from_rows(collection, rows)
        items = await self.export_many(records, info, expand)
        event.result = page_result(items, params, total)

    async def _scans_in_rowid_order(
        self, collection: Collection, select_sql: str, values: dict[str, Any]
    ) -> bool:
        known = self._rowid_scans.get(collection, select_sql)
        if known is None:
            known = await self.store.scans_in_rowid_order(select_sql, values)
            self._rowid_scans.put(collection, select_sql, known)
        return known

    async def view(
        self, collection: Collection, record_id: str, info: RequestInfo, expand: str = ""
    ) -> dict[str, Any]:
        event = ViewEvent(collection, record_id, info, expand)
        await self.hooks.record_view.trigger(event, self._view_action, _tags(collection))
        return event.result

    async def _view_action(self, event: ViewEvent) -> None:
        collection, info = event.collection, event.info
        rule = collection.viewRule
        if rule is None and not info.is_superuser:
            raise ForbiddenError(MSG_SUPERUSER_ONLY)
        record = await self.find_with_rule(collection, event.record_id, rule, info)
        if record is None:
            raise NotFoundError()
        event.result = (await self.export_many([record], info, event.expand))[0]

    async def find_with_rule(
        self, collection: Collection, record_id: str, rule: str | None, info: RequestInfo
    ) -> Record | None:
        key = ("view", "")
        unconditional = self._unconditional(collection, rule, info)
        cached = self._static_sql.get(collection, key) if unconditional else None
        if cached is not None:
            sql, values = cached[0], {"p0": record_id}
        else:
            query = RecordQuery(self.store, self.schema, collection, info)
            id_param = query.resolver.params.add(record_id)
            query.conditions.append(f"{query.q(query.alias)}.{query.q('id')} = {id_param}")
            query.add_rule(rule)
            sql, values = query.select_sql(limit=False) + " LIMIT 1", query.params
            if unconditional and id_param == ":p0":
                self._static_sql.put(collection, key, (sql, ""))
        async with self.store.read() as conn:
            row = await conn.fetch_one(sql, values)
        return self.codec.from_row(collection, row) if row else None

    @staticmethod
    def _unconditional(collection: Collection, rule: str | None, info: RequestInfo) -> bool:
        """No rule applies: the SQL is the same for every caller, so it can be kept."""
        return info.is_superuser or (rule is not None and not rule.strip())

    async def find_by_id(self, collection: Collection, record_id: str) -> Record | None:
        async with self.store.read() as conn:
            row = await conn.fetch_one(
                f"SELECT * FROM {self._table(collection)} WHERE {self._q('id')} = :id LIMIT 1",
                {"id": record_id},
            )
        return self.codec.from_row(collection, row) if row else None

    async def find_locked(
        self, conn: Connection, collection: Collection, record_id: str
    ) -> Record | None:
        """The stored record, locked until ``conn``'s transaction ends.

        A concurrent update of the same record waits here until this one has
        committed and then reads its result, so two read-modify-writes never
        start from the same value (PostgreSQL; SQLite's single writer already
        runs them one after the other).
        """
        sql = self.store.dialect.lock_rows(
            f"SELECT * FROM {self._table(collection)} WHERE {self._q('id')} = :id"
        )
        row = await conn.fetch_one(sql, {"id": record_id})
        return self.codec.from_row(collection, row) if row else None

    async def find_first(self, collection: Collection, field: str, value: Any) -> Record | None:
        if collection.field(field) is None:
            return None
        async with self.store.read() as conn:
            row = await conn.fetch_one(
                f"SELECT * FROM {self._table(collection)} WHERE {self._q(field)} = :value LIMIT 1",
                {"value": value},
            )
        return self.codec.from_row(collection, row) if row else None

    async def lock_id(self, conn: Connection, collection: Collection, record_id: str) -> None:
        """Until ``conn``'s transaction ends, other transactions that lock this id wait here:
        an upsert of an id that may not exist yet has no row to lock."""
        statement = self.store.dialect.lock_key()
        if statement is not None:
            await conn.execute(statement, {"key": f"{collection.id}/{record_id}"})

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """A write transaction: record writes given its connection commit or roll back
        together (nested calls join it through a savepoint)."""
        return self.store.transaction()

    async def find_by_filter(
        self,
        collection: Collection,
        filter: str,
        params: dict[str, Any] | None = None,
        *,
        sort: str = "",
        limit: int | None = None,
        conn: Connection | None = None,
    ) -> list[Record]:
        """Records matching ``filter`` in the filter language (``{:name}`` bound from
        ``params``), no rule applied: server code's lookup, as PocketBase's
        ``FindRecordsByFilter``. With ``conn``, read inside that transaction."""
        query = RecordQuery(self.store, self.schema, collection, SYSTEM)
        query.add_client_filter(filter, params)
        query.add_sort(sort)
        values: dict[str, Any] = dict(query.params)
        if limit is not None:
            values.update(__limit=limit, __offset=0)
        sql = query.select_sql(limit=limit is not None)
        if conn is not None:
            rows = await conn.fetch_all(sql, values)
        else:
            async with self.store.read() as read_conn:
                rows = await read_conn.fetch_all(sql, values)
        return [self.codec.from_row(collection, row) for row in rows]

    async def find_first_by_filter(
        self,
        collection: Collection,
        filter: str,
        params: dict[str, Any] | None = None,
        *,
        sort: str = "",
        conn: Connection | None = None,
    ) -> Record | None:
        found = await self.find_by_filter(collection, filter, params, sort=sort, limit=1, conn=conn)
        return found[0] if found else None

    async def count(
        self, collection: Collection, filter: str = "", params: dict[str, Any] | None = None
    ) -> int:
        """How many records match ``filter`` (all of them when it is empty), no rule applied."""
        query = RecordQuery(self.store, self.schema, collection, SYSTEM)
        query.add_client_filter(filter, params)
        async with self.store.read() as conn:
            return int(await conn.fetch_value(query.count_sql(), query.params) or 0)

    async def export_many(
        self, records: list[Record], info: RequestInfo, expand: str = ""
    ) -> list[dict[str, Any]]:
        if expand and records:
            expander = Expander(self.store, self.schema, info, self.codec)
            await expander.expand(records, parse_expand(expand))
        managed = await self._managed_ids(records, info)
        return self.codec.export_all(records, info, managed)

    async def _managed_ids(self, records: list[Record], info: RequestInfo) -> set[str]:
        """Auth records the caller may manage (and so see the email of), in one query."""
        if not records or info.auth is None or info.is_superuser:
            return set()
        collection = records[0].collection
        if not collection.is_auth or collection.auth is None or not collection.auth.manageRule:
            return set()
        query = RecordQuery(self.store, self.schema, collection, info)
        ids = ", ".join(query.resolver.params.add(r.id) for r in records)
        query.conditions.append(f"{query.q(query.alias)}.{query.q('id')} IN ({ids})")
        query.add_condition(collection.auth.manageRule, allow_hidden=True)
        async with self.store.read() as conn:
            rows = await conn.fetch_all(query.select_sql(limit=False), query.params)
        return {row["id"] for row in rows}

    # Writes -----------------------------------------------------------------

    async def create(
        self, collection: Collection, body: dict[str, Any], info: RequestInfo, expand: str = ""
    ) -> dict[str, Any]:
        record = await self.create_record(collection, body, info)
        return (await self.export_many([record], info, expand))[0]

    async def create_record(
        self, collection: Collection, body: dict[str, Any], info: RequestInfo
    ) -> Record:
        if collection.is_view:
            raise BadRequestError("Unsupported collection type.")
        rule = collection.createRule
        superuser = info.is_superuser
        if rule is None and not superuser:
            raise ForbiddenError(MSG_SUPERUSER_ONLY)
        empty = {f.name: f.empty() for f in collection.fields}
        resolved = apply_body(collection, empty, body, superuser)
        data = resolved.data
        if not data.get("id"):
            id_field = collection.field("id")
            generated = id_field.generate() if isinstance(id_field, TextField) else ""
            data["id"] = generated or new_record_id()
        if collection.is_auth:
            data["verified"] = bool(data.get("verified")) or collection.name == SUPERUSERS
        record = Record(collection, data)
        async with self.store.transaction() as conn:
            manager = superuser
            request = info.with_body(resolved.submitted)
            if (
                not superuser
                and rule
                and not await self.record_matches(record, rule, request, conn=conn)
            ):
                raise BadRequestError(MSG_CREATE_FAILED)
            if (
                collection.is_auth
                and not manager
                and collection.auth
                and collection.auth.manageRule
            ):
                manager = await self.record_matches(
                    record, collection.auth.manageRule, request, conn=conn
                )
            if collection.is_auth:
                auth_errors = auth_create_errors(record, resolved, manager)
                if auth_errors:
                    raise BadRequestError(MSG_CREATE_FAILED, auth_errors)
            event = RecordEvent(record, request, "create")

            async def create(e: RecordEvent) -> None:
                await self._validator.validate(
                    conn, e.record, resolved, MSG_CREATE_FAILED, new=True
                )
                await self._validator.check_auth_id(conn, e.record)
                await finish_fields(e.record, resolved, new=True)
                await self._insert(conn, e.record)
                await self.files.apply(conn, e.record, resolved.files)
                self._emit(conn, "create", e.record)

            await self.hooks.record_create.trigger(event, create, _tags(collection))
        return event.record

    async def update(
        self,
        collection: Collection,
        record_id: str,
        body: dict[str, Any],
        info: RequestInfo,
        expand: str = "",
    ) -> dict[str, Any]:
        record = await self.update_record(collection, record_id, body, info)
        return (await self.export_many([record], info, expand))[0]

    async def update_record(
        self, collection: Collection, record_id: str, body: dict[str, Any], info: RequestInfo
    ) -> Record:
        if collection.is_view:
            raise BadRequestError("Unsupported collection type.")
        rule = collection.updateRule
        superuser = info.is_superuser
        if rule is None and not superuser:
            raise ForbiddenError(MSG_SUPERUSER_ONLY)
        async with self.store.transaction() as conn:
            # Locked until the commit: the body's modifiers (``n+``, ``tags-``, ``files+``),
            # the rules and the hooks all work on the latest value, never a stale one.
            existing = await self.find_locked(conn, collection, record_id)
            if existing is None:
                raise NotFoundError()
            resolved = apply_body(collection, existing.data, body, superuser)
            request = info.with_body(resolved.submitted)
            if (
                not superuser
                and rule
                and await self.find_with_rule(collection, record_id, rule, request) is None
            ):
                raise NotFoundError()
            await self._check_expected(conn, existing, info)
            manager = superuser or await self._manages(collection, existing, request)
            record = Record(collection, resolved.data)
            if collection.is_auth:
                auth_errors = await auth_update_errors(existing, record, resolved, manager)
                if auth_errors:
                    raise BadRequestError(MSG_UPDATE_FAILED, auth_errors)
            if resolved.data.get("id") != existing.id:
                raise BadRequestError(
                    MSG_UPDATE_FAILED,
                    {
                        "id": field_error(
                            "validation_pk_change", "The record primary key cannot be changed."
                        )
                    },
                )
            event = RecordEvent(record, request, "update", original=existing)

            async def update(e: RecordEvent) -> None:
                await self._validator.validate(
                    conn, e.record, resolved, MSG_UPDATE_FAILED, new=False, existing=existing
                )
                if collection.is_auth and e.record.get("email") != existing.get("email"):
                    e.record.data["tokenKey"] = ""  # a new email ends every earlier token
                await finish_fields(e.record, resolved, new=False, previous=existing)
                await self._update_row(conn, e.record, existing)
                resolved.files.removed = removed_names(collection, existing.data, e.record.data)
                await self.files.apply(conn, e.record, resolved.files)
                self.notify_auth_change(conn, e.record)
                self._emit(conn, "update", e.record)

            await self.hooks.record_update.trigger(event, update, _tags(collection))
        return event.record

    async def _check_expected(self, conn: Connection, existing: Record, info: RequestInfo) -> None:
        """Our ``If-Match: <updated>``: a lost update (or a delete of a record changed since
        the client saw it) becomes a 409 with the server's copy.

        Checked on the row locked for this update, so it is a compare-and-set: of
        two clients expecting one version, the second gets the 409.
        """
        expected = info.headers.get("if_match", "").strip().strip('"')
        if not expected or expected == "*":  # HTTP's "any version"
            return
        if existing.collection.field("updated") is None:
            raise BadRequestError(
                "If-Match needs an updated field.",
                {"updated": field_error("validation_missing_field", "No updated field.")},
            )
        if str(existing.get("updated") or "") == expected:
            return
        copy: dict[str, Any] = {}
        view_rule = existing.collection.viewRule
        if await self.record_matches(existing, view_rule, info, conn=conn):
            copy = (await self.export_many([existing], info))[0]
        raise ConflictError(MSG_VERSION_CONFLICT, {"record": copy} if copy else {})

    async def delete(self, collection: Collection, record_id: str, info: RequestInfo) -> None:
        if collection.is_view:
            raise BadRequestError("Unsupported collection type.")
        rule = collection.deleteRule
        if rule is None and not info.is_superuser:
            raise ForbiddenError(MSG_SUPERUSER_ONLY)
        async with self.store.transaction() as conn:
            # Locked first: of two deletes at once, the second waits and then finds
            # nothing (404), so the delete hooks and events run once.
            locked = await self.find_locked(conn, collection, record_id)
            if locked is None:
                raise NotFoundError()
            record = await self.find_with_rule(collection, record_id, rule, info)
            if record is None:
                raise NotFoundError()
            await self._check_expected(conn, locked, info)  # on the locked row: compare-and-set
            await self.delete_record(conn, record, info=info)

    async def delete_record(
        self, conn: Connection, record: Record, depth: int = 0, info: RequestInfo | None = None
    ) -> None:
        """Delete ``record`` and settle every reference to it, as PocketBase does."""
        if depth > MAX_CASCADE_DEPTH:
            raise BadRequestError(MSG_DELETE_FAILED)
        event = RecordEvent(record, info or SYSTEM, "delete", original=record)

        async def delete(e: RecordEvent) -> None:
            if e.record.collection.name == SUPERUSERS:
                await self._keep_one_superuser(conn, e.record.collection)
            await self._delete_and_settle(conn, e.record, depth)

        await self.hooks.record_delete.trigger(event, delete, _tags(record.collection))

    async def _keep_one_superuser(self, conn: Connection, superusers: Collection) -> None:
        """Refuse to delete the last superuser, as PocketBase does: nobody could sign in to
        the dashboard again. Superuser deletes take one lock first, so two superusers
        deleting each other at once cannot both pass the count."""
        await self.lock_id(conn, superusers, "*delete*")
        row = await conn.fetch_one(f"SELECT COUNT(*) AS n FROM {self._table(superusers)}", {})
        if row is not None and int(row["n"]) <= 1:
            raise BadRequestError(MSG_LAST_SUPERUSER)

    async def _delete_and_settle(self, conn: Connection, record: Record, depth: int) -> None:
        collection = record.collection
        await conn.execute(
            f"DELETE FROM {self._table(collection)} WHERE {self._q('id')} = :id", {"id": record.id}
        )
        self.notify_auth_change(conn, record)
        self.files.remove_record_files(conn, collection, record.id)
        await self._written(conn, collection, record.id, "delete", record)
        self._emit(conn, "delete", record)
        references = sorted(self.schema.referencing(collection), key=lambda pair: pair[0].name)
        for other, field_name in references:
            if other.is_view:
                continue
            field = other.field(field_name)
            assert isinstance(field, RelationField)
            for referrer in await self._referrers(conn, other, field, record.id):
                remaining = [i for i in field.as_list(referrer.get(field.name)) if i != record.id]
                if not remaining and field.cascadeDelete:
                    await self.delete_record(conn, referrer, depth + 1)
                elif not remaining and field.required:
                    raise BadRequestError(MSG_DELETE_FAILED)
                else:
                    value = remaining if field.multiple else (remaining[-1] if remaining else "")
                    referrer.data[field.name] = value
                    self._emit(conn, "update", referrer)
                    await conn.execute(
                        f"UPDATE {self._table(other)} SET {self._q(field.name)} = :value "
                        f"WHERE {self._q('id')} = :id",
                        {"value": field.to_db(value), "id": referrer.id},
                    )
                    await self._written(conn, other, referrer.id, "update", referrer)
        for listener in self._delete_listeners:
            await listener(conn, record, depth)

    async def _referrers(
        self, conn: Connection, collection: Collection, field: RelationField, target_id: str
    ) -> list[Record]:
        """Records whose ``field`` names ``target_id``, locked: their relation lists are
        rewritten from what is read here, so a concurrent ``field+`` must not slip in
        between. Read in id order, so two deletes lock shared referrers in one order."""
        column = self._q(field.name)
        if field.multiple:
            where = f"EXISTS (SELECT 1 FROM {self.store.dialect.json_each(column)} __je WHERE __je.value = :id)"
        else:
            where = f"{column} = :id"
        sql = self.store.dialect.lock_rows(
            f"SELECT * FROM {self._table(collection)} WHERE {where} AND {self._q('id')} != :id "
            f"ORDER BY {self._q('id')}"
        )
        rows = await conn.fetch_all(sql, {"id": target_id})
        return [self.codec.from_row(collection, row) for row in rows]

    async def truncate(self, collection: Collection) -> None:
        if collection.is_view:
            raise BadRequestError(
                "View collections cannot be truncated since they don't store their own records."
            )
        async with self.store.transaction() as conn:
            if not self.schema.referencing(collection):
                await conn.execute(f"DELETE FROM {self._table(collection)}", heavy=True)
                await self._written(conn, collection, "", "reset")
                return
            rows = await conn.fetch_all(f"SELECT * FROM {self._table(collection)}")
            for row in rows:
                await self.delete_record(conn, self.codec.from_row(collection, row))

    # Save helpers -----------------------------------------------------------

    async def save(
        self,
        conn: Connection,
        record: Record,
        changed: list[str],
        expect: Mapping[str, Any] | None = None,
    ) -> bool:
        """Write the named fields of an existing record, without rules (for internal updates).

        With ``expect``, the write happens only while those fields still hold
        these values, checked and written in one statement (a compare-and-set);
        ``False`` when they no longer do (or the record is gone).
        """
        collection = record.collection
        params = record_codec.to_params(collection, {k: record.data[k] for k in changed})
        assignments = ", ".join(f"{self._q(k)} = :{k}" for k in params)
        conditions = [f"{self._q('id')} = :__id"]
        expected = record_codec.to_params(collection, dict(expect or {}))
        if len(expected) != len(expect or {}):
            raise ValueError(
                f"expect names unknown fields: {sorted(set(expect or {}) - set(expected))}"
            )
        for name, value in expected.items():
            params[f"__expect_{name}"] = value
            conditions.append(f"{self._q(name)} = :__expect_{name}")
        params["__id"] = record.id
        written = await conn.execute(
            f"UPDATE {self._table(collection)} SET {assignments} WHERE {' AND '.join(conditions)}",
            params,
        )
        if written > 0:
            await self._written(conn, collection, record.id, "update", record)
        return written > 0

    async def update_trusted(
        self,
        record: Record,
        changed: list[str],
        message: str,
        expect: Mapping[str, Any] | None = None,
    ) -> bool:
        """Write fields the server itself decided (a confirmed email, a reset password).

        No rules and no client input; ``updated`` moves on, the change is
        announced like any update, and a unique clash is a 400 with ``message``.
        ``expect`` makes the write a claim (see ``save``): a single-use token is
        checked against the ``tokenKey`` it was signed with, so of two requests
        racing with one token exactly one writes; the other gets ``False``.
        """
        at = now()
        for field in record.collection.fields:
            if isinstance(field, AutodateField) and field.onUpdate:
                record.data[field.name] = format_datetime(update_time(at, record, field.name))
                changed = [*changed, field.name]
        async with self.store.transaction() as conn:
            try:
                written = await self.save(conn, record, changed, expect)
            except UniqueViolation as error:
                raise unique_error(record.collection, error, message) from error
            if not written:
                return False
            self.notify_auth_change(conn, record)
            self._emit(conn, "update", record)
        return True

    async def insert_trusted(self, record: Record, plain_password: str | None = None) -> None:
        """Insert without rules or client input rules (CLI and internal use)."""
        resolved = ResolvedInput(
            record.data, {}, {"password": plain_password} if plain_password else {}
        )
        async with self.store.transaction() as conn:
            await self._validator.validate(conn, record, resolved, MSG_CREATE_FAILED, new=True)
            await self._validator.check_auth_id(conn, record)
            await finish_fields(record, resolved, new=True)
            await self._insert(conn, record)

    def _q(self, name: str) -> str:
        return self.store.dialect.quote(name)

    def _table(self, collection: Collection) -> str:
        return self._q(collection.name)

    async def record_matches(
        self,
        record: Record,
        rule: str | None,
        info: RequestInfo,
        client_filter: str = "",
        conn: Connection | None = None,
    ) -> bool:
        """Whether ``record`` (stored or not) passes ``rule`` and a client's filter.

        The record is given as a one-row CTE, so this works for a record not
        stored yet (create rules) and for one already deleted (realtime events).
        A null rule passes for superusers only.
        """
        if rule is None and not info.is_superuser:
            return False
        collection = record.collection
        cte = f"__kb_row_{collection.name}"
        query = RecordQuery(self.store, self.schema, collection, info)
        query.resolver.table = self._q(cte)
        values = record_codec.to_params(collection, record.data)
        columns = []
        for field in collection.fields:
            param = query.resolver.params.add(values.get(field.name, field.to_db(field.empty())))
            param = self.store.dialect.typed_value(param, field.storage_kind)
            columns.append(f"{param} AS {self._q(field.name)}")
        query.add_rule(rule)
        if client_filter:
            query.add_client_filter(client_filter, search=False)
        sql = (
            f"WITH {self._q(cte)} AS (SELECT {', '.join(columns)}) "
            f"SELECT 1 FROM {self._q(cte)} {self._q(query.alias)} {query.resolver.join_sql()} "
            f"WHERE {query.where_sql()} LIMIT 1"
        )
        if conn is not None:
            return await conn.fetch_value(sql, query.params) is not None
        async with self.store.read() as reader:
            return await reader.fetch_value(sql, query.params) is not None

    async def _manages(self, collection: Collection, record: Record, info: RequestInfo) -> bool:
        if not collection.is_auth or collection.auth is None or not collection.auth.manageRule:
            return False
        if info.auth is None:
            return False
        return (
            await self.find_with_rule(collection, record.id, collection.auth.manageRule, info)
            is not None
        )

    async def _insert(self, conn: Connection, record: Record) -> None:
        params = record_codec.to_params(record.collection, record.data)
        columns = ", ".join(self._q(name) for name in params)
        values = ", ".join(f":{name}" for name in params)
        try:
            await conn.execute(
                f"INSERT INTO {self._table(record.collection)} ({columns}) VALUES ({values})",
                params,
            )
        except UniqueViolation as error:
            raise unique_error(record.collection, error, MSG_CREATE_FAILED) from error
        await self._written(conn, record.collection, record.id, "create", record)

    async def _update_row(self, conn: Connection, record: Record, existing: Record) -> None:
        changed = [
            f.name
            for f in record.collection.fields
            if record.data.get(f.name) != existing.data.get(f.name)
        ]
        if not changed:
            return
        try:
            await self.save(conn, record, changed)
        except UniqueViolation as error:
            raise unique_error(record.collection, error, MSG_UPDATE_FAILED) from error


def _tags(collection: Collection) -> tuple[str, ...]:
    """Hooks bound to a collection match its name or its id."""
    return (collection.name, collection.id)
