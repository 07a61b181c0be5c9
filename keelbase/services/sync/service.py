"""Sync: what changed in a collection since a client's cursor, under the list rule.

A pull reads a range of the change log (``changelog.py``) and then the records
it names through the list rule, the client's filter and the caller's auth in
one SQL query: a record still there and listable is a ``put`` (exported as
the list API would export it), anything else (deleted, or no longer visible to
this caller) is a ``remove``, named by the digest of its id (``removal_digest``).
The cost follows the number of changes, not the size of the collection.

A client without a cursor first pages through the collection itself (a
snapshot, by id) from a start taken before it reads, then follows the log
from that start: what changed while it paged arrives again, never less.
A record that leaves a caller's view without being written itself (a rule
reading another collection, a change of the caller's auth) shows up in the
checkpoint: the count and checksum of what the caller should hold.

Cursors are opaque to clients: ``c.<tx>.<seq>`` follows the log and
``s.<tx>.<seq>.<last id>`` is a snapshot under way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from keelbase.core.collections.collection import Collection
from keelbase.core.request_info import RequestInfo
from keelbase.errors import (
    MSG_SUPERUSER_ONLY,
    BadRequestError,
    ForbiddenError,
    GoneError,
    field_error,
)
from keelbase.services.collections.changes import SchemaChange
from keelbase.services.records.query import RecordQuery
from keelbase.services.records.service import RecordsService
from keelbase.services.sync.changelog import RESET, ChangeLog, Position, now_ms
from keelbase.store.base import Connection

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MSG_GONE = "The sync cursor is older than the change log: sync again from the start."
DEFAULT_WINDOW_SECONDS = 7 * 24 * 3600
MAX_POSITION = 2**63 - 1  # a BIGINT


@dataclass(frozen=True)
class Cursor:
    position: Position
    # The last id of a snapshot under way (None: following the log).
    after_id: str | None = None

    def text(self) -> str:
        tx, seq = self.position
        if self.after_id is None:
            return f"c.{tx}.{seq}"
        return f"s.{tx}.{seq}.{self.after_id}"

    @classmethod
    def parse(cls, text: str) -> Cursor | None:
        if not text:
            return None
        parts = text.split(".", 3)
        try:
            position = (int(parts[1]), int(parts[2])) if len(parts) >= 3 else None
        except ValueError:
            position = None
        if position is not None and all(0 <= n <= MAX_POSITION for n in position):
            if parts[0] == "c" and len(parts) == 3:
                return cls(position)
            if parts[0] == "s" and len(parts) == 4:
                return cls(position, parts[3])
        raise BadRequestError(
            "Invalid sync cursor.",
            {"cursor": field_error("validation_invalid_value", "Not a cursor this server gave.")},
        )


class SyncService:
    def __init__(
        self,
        records: RecordsService,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        *,
        listen: bool = True,
    ) -> None:
        """With ``listen`` it hears every write itself; without, the owner passes them to
        ``log.write`` (``App`` builds the service on first use)."""
        self.records = records
        self.store = records.store
        self.log = ChangeLog(records.store.dialect)
        self.window_seconds = window_seconds
        if listen:
            records.on_written(self.log.write)

    async def on_schema_saved(self, conn: Connection, change: SchemaChange) -> None:
        """Inside a collection change's transaction: a new list rule or new fields change what
        every client should hold, so cursors before it start again; a deleted collection's
        changes go."""
        before = {c.id: c for c in change.before}
        for collection in change.after:
            old = before.get(collection.id)
            if old is None or collection.is_view:
                continue
            if old.listRule != collection.listRule or [f.name for f in old.fields] != [
                f.name for f in collection.fields
            ]:
                await self.log.write(conn, collection, "", RESET)
        for collection in change.deleted:
            await self.log.forget_collection(conn, collection.id)

    def _check(self, collection: Collection, info: RequestInfo) -> None:
        if collection.is_view:
            raise BadRequestError("Sync needs a base or auth collection, not a view.")
        if collection.listRule is None and not info.is_superuser:
            raise ForbiddenError(MSG_SUPERUSER_ONLY)

    def _query(self, collection: Collection, info: RequestInfo, filter: str) -> RecordQuery:
        query = RecordQuery(self.store, self.records.schema, collection, info)
        query.add_rule(collection.listRule)
        query.add_client_filter(filter)
        return query

    async def changes(
        self,
        collection: Collection,
        cursor_text: str,
        info: RequestInfo,
        *,
        limit: int = DEFAULT_LIMIT,
        filter: str = "",
        expand: str = "",
    ) -> dict[str, Any]:
        """One page: ``put`` records, ``remove`` ids, the next ``cursor`` and ``hasMore``."""
        self._check(collection, info)
        limit = max(1, min(limit, MAX_LIMIT))
        cursor = Cursor.parse(cursor_text)
        async with self.store.read() as conn:
            if cursor is None:
                cursor = Cursor(await self.log.head(conn), "")
            elif cursor.position < await self.log.pruned(conn):
                raise GoneError(MSG_GONE)
            if cursor.after_id is not None:
                return await self._snapshot_page(
                    conn, collection, cursor, info, limit, filter, expand
                )
            return await self._log_page(conn, collection, cursor, info, limit, filter, expand)

    async def _snapshot_page(
        self,
        conn: Connection,
        collection: Collection,
        cursor: Cursor,
        info: RequestInfo,
        limit: int,
        filter: str,
        expand: str,
    ) -> dict[str, Any]:
        query = self._query(collection, info, filter)
        id_column = f"{query.q(query.alias)}.{query.q('id')}"
        after = query.resolver.params.add(cursor.after_id or "")
        query.conditions.append(f"{id_column} > {after}")
        query.order = [f"{id_column} ASC"]
        rows = await conn.fetch_all(
            query.select_sql(), {**query.params, "__limit": limit + 1, "__offset": 0}
        )
        more = len(rows) > limit
        records = self.records.codec.from_rows(collection, rows[:limit])
        puts = await self.records.export_many(records, info, expand)
        # Once the snapshot is read, the log from its start follows: more to pull either way.
        next_cursor = Cursor(cursor.position, records[-1].id if more else None)
        return _page(puts, [], next_cursor, True, held=False)

    async def _log_page(
        self,
        conn: Connection,
        collection: Collection,
        cursor: Cursor,
        info: RequestInfo,
        limit: int,
        filter: str,
        expand: str,
    ) -> dict[str, Any]:
        page = await self.log.read(conn, collection.id, cursor.position, limit)
        if any(change.action == RESET for change in page.changes):
            raise GoneError(MSG_GONE)
        if not page.changes:
            return _page([], [], cursor, False, held=page.held)
        ids = list(dict.fromkeys(change.record for change in page.changes))
        sql, params = self.records_sql(collection, info, filter, ids)
        rows = await conn.fetch_all(sql, params)
        records = self.records.codec.from_rows(collection, rows)
        puts = await self.records.export_many(records, info, expand)
        present = {record.id for record in records}
        removes = [removal_digest(i) for i in ids if i not in present]
        next_cursor = Cursor(page.changes[-1].position)
        return _page(puts, removes, next_cursor, page.more, held=page.held)

    def records_sql(
        self, collection: Collection, info: RequestInfo, filter: str, ids: list[str]
    ) -> tuple[str, dict[str, Any]]:
        """The records a log page names, through the list rule and ``filter``: by primary key."""
        query = self._query(collection, info, filter)
        placeholders = ", ".join(query.resolver.params.add(i) for i in ids)
        query.conditions.append(f"{query.q(query.alias)}.{query.q('id')} IN ({placeholders})")
        return query.select_sql(limit=False), dict(query.params)

    async def checkpoint(
        self, collection: Collection, info: RequestInfo, filter: str = ""
    ) -> dict[str, Any]:
        """How many records the caller should hold and a checksum of their ids and versions.

        The checksum is the SHA-256 of ``<id>\\t<updated>\\n`` lines sorted by id
        (``updated`` empty when the collection has none): a client computes the
        same over its copy and starts again when they differ after a full pull.
        """
        self._check(collection, info)
        query = self._query(collection, info, filter)
        has_updated = collection.field("updated") is not None
        # only what the checksum reads: a large collection's records are never all loaded
        alias = query.q(query.alias)
        columns = [f"{alias}.{query.q('id')}"]
        if has_updated:
            columns.append(f"{alias}.{query.q('updated')}")
        distinct = "DISTINCT " if query.resolver.has_joins else ""
        sql = f"SELECT {distinct}{', '.join(columns)} {query.from_sql()} WHERE {query.where_sql()}"
        async with self.store.read() as conn:
            cursor = Cursor(await self.log.head(conn))
            rows = await conn.fetch_all(sql, query.params)
        lines = sorted(
            (str(row["id"]), str(row["updated"] or "") if has_updated else "") for row in rows
        )
        digest = hashlib.sha256()
        for record_id, updated in lines:
            digest.update(f"{record_id}\t{updated}\n".encode())
        return {"count": len(lines), "checksum": digest.hexdigest(), "cursor": cursor.text()}

    async def prune_job(self) -> None:
        """The hourly ``__kbSyncPrune__`` job."""
        await self.prune()

    async def prune(self) -> int:
        """Forget changes older than the window; how many went."""
        cutoff = now_ms() - int(self.window_seconds * 1000)
        async with self.store.transaction() as conn:
            return await self.log.prune(conn, cutoff)


def removal_digest(record_id: str) -> str:
    """How a ``remove`` names a record: the hex SHA-256 of its id, never the id itself.

    A remove goes to every caller whose view a change left or never reached, so
    plain ids would hand out those of records the caller may not list (and, with a
    view rule open to anyone holding the id, their contents). A client compares the
    digests with those of the ids it holds.
    """
    return hashlib.sha256(record_id.encode()).hexdigest()


def _page(
    puts: list[dict[str, Any]], removes: list[str], cursor: Cursor, more: bool, held: bool
) -> dict[str, Any]:
    return {"put": puts, "remove": removes, "cursor": cursor.text(), "hasMore": more, "held": held}
