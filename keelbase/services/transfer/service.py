"""Moving a whole app between stores: export to an archive, import from one.

Both directions use only the store protocol (``:name`` parameters, ``read``,
``transaction``) and the schema services, so they work the same on SQLite and
PostgreSQL: ``keelbase export`` from one and ``keelbase import`` into the other.

What is carried: every collection definition (system ones too, with secrets as
the store keeps them), every record of every table (password hashes, token
keys, hidden fields, file names, ``created``/``updated`` as stored), the
runtime settings and the history of applied migrations (``_migrations``), so
the imported app does not apply its migrations a second time. File contents stay in their storage; records keep their ids,
so the storage folder (or S3 bucket) fits the imported app unchanged.

An import is one transaction: the target's collections are replaced, the
records loaded, then counted and checksummed again *from the target* and
compared with the manifest. Any failure (a damaged line, a changed record, a
count that differs) rolls the whole import back, so the target is either the
app it was or the archived app, never a mix, and the import can simply be run
again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.json import DefinitionError, collection_from_store
from keelbase.core.collections.system import initial_collections
from keelbase.core.dates import now_string
from keelbase.services.records.codec import RecordCodec
from keelbase.services.transfer.archive import (
    DEFAULT_LEVEL,
    FORMAT,
    VERSION,
    ArchiveError,
    ArchiveReader,
    ArchiveWriter,
    Checksum,
    TransferError,
    canonical,
    normalise,
    records_member,
)
from keelbase.store import migrations_history as history
from keelbase.store import system
from keelbase.store.base import Connection, Store, StoreError
from keelbase.store.schema_sync import SchemaSync

__all__ = ["Progress", "TransferError", "TransferService"]

Progress = Callable[[str], None]
PAGE_SIZE = 1000
PROGRESS_SECONDS = 1.0
# Not carried: the target counts its own schema changes so running nodes notice the import.
_LOCAL_PARAMS = frozenset({system.SCHEMA_VERSION_KEY})
_ORDER = "_kb_transfer_order"  # the row number beside each row read, to page by


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Reporter:
    """Progress lines, at most about one a second per collection, plus each collection's end."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self._last = time.monotonic()

    def step(self, message: str) -> None:
        now = time.monotonic()
        if self.progress is not None and now - self._last >= PROGRESS_SECONDS:
            self._last = now
            self.progress(message)

    def done(self, message: str) -> None:
        self._last = time.monotonic()
        if self.progress is not None:
            self.progress(message)


class TransferService:
    def __init__(
        self, store: Store, progress: Progress | None = None, page_size: int = PAGE_SIZE
    ) -> None:
        self.store = store
        self.page_size = page_size
        self.report = _Reporter(progress)
        # Collections come from the store, not a live schema: no plans are kept.
        self.codec = RecordCodec()

    # Export ---------------------------------------------------------------

    async def export(self, path: Path, compresslevel: int = DEFAULT_LEVEL) -> dict[str, Any]:
        """Write the whole app to ``path``; returns the manifest.

        ``compresslevel``: zlib's level for the records (any level reads the same).

        The export reads inside one transaction, so it is a consistent snapshot
        even while a server writes (on SQLite those writes wait until it ends).
        """
        writer = await asyncio.to_thread(ArchiveWriter, path, compresslevel)
        try:
            async with self.store.transaction() as conn:
                collections = await system.load_collections(conn)
                params = await _read_params(conn)
                migrations = [
                    {"file": m.file, "applied": m.applied} for m in await history.applied(conn)
                ]
                data: dict[str, Any] = {}
                for collection in collections:
                    if collection.is_view:
                        continue
                    await asyncio.to_thread(writer.begin_records, collection.id)
                    checksum = Checksum()
                    async for page in self._pages(conn, collection):
                        lines = [canonical(record) for record in page]
                        for line in lines:
                            checksum.add(line)
                        await asyncio.to_thread(_write_lines, writer, lines)
                        self.report.step(f"export {collection.name}: {checksum.count} records")
                    self.report.done(f"export {collection.name}: {checksum.count} records")
                    data[collection.id] = {
                        "name": collection.name,
                        "file": records_member(collection.id),
                        "count": checksum.count,
                        "checksum": checksum.hexdigest,
                    }
                manifest = {
                    "format": FORMAT,
                    "version": VERSION,
                    "created": now_string(),
                    "source": self.store.dialect.name,
                    "collections": [c.to_json(with_secrets=True) for c in collections],
                    "params": params,
                    "migrations": migrations,
                    "data": data,
                }
                await asyncio.to_thread(writer.finish, manifest)
        except BaseException:
            await asyncio.to_thread(writer.abandon)
            raise
        return manifest

    async def _pages(
        self, conn: Connection, collection: Collection
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The collection's records as the API decodes them, a page at a time, in row order.

        Paging by row number (not OFFSET) keeps every page as cheap as the first;
        only one page is in memory at a time. Row order is insertion order, which
        is the order of a list without ``sort``: the import inserts the lines in
        the order they come, so such lists answer the same after a move.
        """
        table = _quote(collection.name)
        rowid = self.store.dialect.rowid("r")
        after: int | None = None
        while True:
            where = "" if after is None else f"WHERE {rowid} > :after "
            sql = (
                f'SELECT r.*, {rowid} AS "{_ORDER}" FROM {table} r {where}'
                f"ORDER BY {rowid} LIMIT :limit"
            )
            params: dict[str, Any] = {"limit": self.page_size}
            if after is not None:
                params["after"] = after
            rows = await conn.fetch_all(sql, params)
            if not rows:
                return
            after = int(rows[-1][_ORDER])
            yield [record.data for record in self.codec.from_rows(collection, rows)]
            if len(rows) < self.page_size:
                return

    # Import ---------------------------------------------------------------

    async def import_(self, path: Path, replace: bool = False) -> dict[str, Any]:
        """Load the archive at ``path`` into this store; returns the manifest.

        The target must be empty (only the collections a new data folder has,
        with no records) unless ``replace``. All or nothing: see the module doc.
        """
        reader = await asyncio.to_thread(ArchiveReader, path)
        try:
            manifest = reader.manifest
            collections = _archived_collections(manifest)
            async with self.store.transaction() as conn:
                existing = await system.load_collections(conn)
                if not replace:
                    await self._check_empty(conn, existing)
                await self._drop(conn, existing)
                await self._create(conn, collections)
                await _write_params(conn, manifest["params"])
                await _write_migrations(conn, manifest)
                for collection in collections:
                    if not collection.is_view:
                        await self._load(conn, reader, collection, manifest["data"][collection.id])
                await self._verify(conn, collections, manifest)
                await system.bump_schema_version(conn, now_string())
        except StoreError as error:
            raise TransferError(f"the target store refused the import: {error}") from error
        finally:
            reader.close()
        return manifest

    async def _check_empty(self, conn: Connection, existing: list[Collection]) -> None:
        fresh = {c.id for c in initial_collections()}
        extra = [c.name for c in existing if c.id not in fresh]
        if extra:
            raise TransferError(
                "the target app is not empty: it has the collections "
                + ", ".join(extra)
                + " (import only into a new data folder or database, or pass --replace "
                "to drop everything in the target first)"
            )
        filled = [
            c.name
            for c in existing
            if not c.is_view
            and await conn.fetch_value(f"SELECT 1 FROM {_quote(c.name)} LIMIT 1") is not None
        ]
        if filled:
            raise TransferError(
                "the target app is not empty: it has records in "
                + ", ".join(filled)
                + " (import only into a new data folder or database, or pass --replace "
                "to drop everything in the target first)"
            )

    async def _drop(self, conn: Connection, existing: list[Collection]) -> None:
        """Drop the target's collections: views first, newest first, as they may build on each other."""
        sync = SchemaSync(conn, self.store.dialect)
        views = [c for c in existing if c.is_view]
        tables = [c for c in existing if not c.is_view]
        for collection in [*reversed(views), *tables]:
            await sync.drop(collection)
            await system.delete_collection(conn, collection.id)

    async def _create(self, conn: Connection, collections: list[Collection]) -> None:
        """Tables first, then views (which select from them); definitions in archive order."""
        sync = SchemaSync(conn, self.store.dialect)
        for collection in collections:
            if not collection.is_view:
                await sync.create(collection)
            await system.insert_collection(conn, collection)
        for collection in collections:
            if collection.is_view:
                try:
                    await sync.create(collection)
                    # SQLite checks a view's functions only when it runs: run it once now.
                    await conn.fetch_columns(f"SELECT * FROM {_quote(collection.name)} LIMIT 0")
                except StoreError as error:
                    raise TransferError(
                        f"view {collection.name!r}: the target database refused its query: {error}"
                    ) from error

    async def _load(
        self, conn: Connection, reader: ArchiveReader, collection: Collection, entry: dict[str, Any]
    ) -> None:
        """Insert the collection's lines a page at a time, through the store's bulk insert
        (PostgreSQL: one ``COPY`` a page; SQLite: multi-row ``INSERT``s).

        The next page is read and parsed on a thread while the database stores
        this one; it is always awaited, so nothing reads the archive after this returns.
        """
        fields = collection.fields
        columns = [f.name for f in fields]
        total = entry["count"]
        checksum = Checksum()
        lines = reader.records(collection.id)
        ahead = asyncio.ensure_future(asyncio.to_thread(_next_page, lines, self.page_size))
        try:
            while True:
                page = await ahead
                if not page:
                    break
                ahead = asyncio.ensure_future(asyncio.to_thread(_next_page, lines, self.page_size))
                rows: list[list[Any]] = []
                for _, record in page:
                    checksum.add(canonical(record))
                    rows.append(
                        [f.to_db(record[f.name] if f.name in record else f.empty()) for f in fields]
                    )
                try:
                    await conn.insert_many(collection.name, columns, rows)
                except StoreError as error:
                    first, last = page[0][0], page[-1][0]
                    where = f"line {first}" if first == last else f"lines {first}-{last}"
                    raise TransferError(
                        f"{records_member(collection.id)} {where}: "
                        f"the target store refused the record: {error}"
                    ) from error
                self.report.step(f"import {collection.name}: {checksum.count}/{total} records")
        finally:
            # The page read ahead: wait for it (its thread cannot be stopped) and take
            # its error, if any, which the error already raised makes moot.
            await asyncio.wait([ahead])
            if not ahead.cancelled():
                ahead.exception()
        self.report.done(f"import {collection.name}: {checksum.count}/{total} records")
        _compare(collection.name, "archive", checksum, entry)

    async def _verify(
        self, conn: Connection, collections: list[Collection], manifest: dict[str, Any]
    ) -> None:
        """Read everything back from the target and compare it with the manifest."""
        stored = {c.id: c for c in await system.load_collections(conn)}
        for expected in manifest["collections"]:
            got = stored.get(expected["id"])
            if got is None or normalise(got.to_json(with_secrets=True)) != normalise(expected):
                raise TransferError(
                    f"collection {expected.get('name')!r} reads back differently from the archive"
                )
        if normalise(await _read_params(conn)) != normalise(manifest["params"]):
            raise TransferError("the settings read back differently from the archive")
        if "migrations" in manifest:
            stored_migrations = [[m.file, m.applied] for m in await history.applied(conn)]
            archived = sorted([m["file"], m["applied"]] for m in manifest["migrations"])
            if sorted(stored_migrations) != archived:
                raise TransferError(
                    "the migrations history reads back differently from the archive"
                )
        for collection in collections:
            if collection.is_view:
                continue
            checksum = Checksum()
            total = manifest["data"][collection.id]["count"]
            async for page in self._pages(conn, collection):
                for record in page:
                    checksum.add(canonical(record))
                self.report.step(f"verify {collection.name}: {checksum.count}/{total} records")
            _compare(collection.name, "target", checksum, manifest["data"][collection.id])
        self.report.done("verified: counts and checksums match the manifest")


def _write_lines(writer: ArchiveWriter, lines: list[bytes]) -> None:
    for line in lines:
        writer.write_record(line)


def _next_page(lines: Any, size: int) -> list[tuple[int, dict[str, Any]]]:
    page: list[tuple[int, dict[str, Any]]] = []
    for item in lines:
        page.append(item)
        if len(page) >= size:
            break
    return page


def _compare(name: str, side: str, checksum: Checksum, entry: dict[str, Any]) -> None:
    if checksum.count != entry["count"]:
        raise TransferError(
            f"{name}: the {side} has {checksum.count} records, the manifest says {entry['count']}"
        )
    if checksum.hexdigest != entry["checksum"]:
        raise TransferError(
            f"{name}: the checksum of the {side}'s records does not match the manifest "
            "(the archive was changed or damaged)"
        )


def _archived_collections(manifest: dict[str, Any]) -> list[Collection]:
    collections: list[Collection] = []
    for item in manifest["collections"]:
        try:
            collection = collection_from_store(item)
        except (DefinitionError, KeyError, TypeError, ValueError) as error:
            raise ArchiveError(
                f"the definition of collection {item.get('name')!r} is broken: {error}"
            ) from error
        if not collection.is_view and collection.id not in manifest["data"]:
            raise ArchiveError(f"the manifest has no records entry for {collection.name!r}")
        collections.append(collection)
    return collections


async def _read_params(conn: Connection) -> dict[str, Any]:
    rows = await conn.fetch_all('SELECT "id" FROM "_params" ORDER BY "id"')
    return {
        str(row["id"]): await system.get_param(conn, str(row["id"]))
        for row in rows
        if row["id"] not in _LOCAL_PARAMS
    }


async def _write_migrations(conn: Connection, manifest: dict[str, Any]) -> None:
    """The archive's history of applied migrations replaces the target's (archives
    written before it was carried leave the target's alone)."""
    entries = manifest.get("migrations")
    if entries is None:
        return
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("file"), str) and isinstance(e.get("applied"), int)
        for e in entries
    ):
        raise TransferError("the archive's migrations history is damaged")
    for entry in await history.applied(conn):
        await history.forget(conn, entry.file)
    for entry in entries:
        await history.record(conn, entry["file"], entry["applied"])


async def _write_params(conn: Connection, params: dict[str, Any]) -> None:
    existing = await conn.fetch_all('SELECT "id" FROM "_params"')
    for row in existing:
        if row["id"] not in _LOCAL_PARAMS:
            await conn.execute('DELETE FROM "_params" WHERE "id" = :id', {"id": row["id"]})
    now = now_string()
    for key, value in params.items():
        if key not in _LOCAL_PARAMS:
            await system.set_param(conn, key, value, now)
