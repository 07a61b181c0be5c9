"""Decoded vectors of ``vector`` fields kept in memory, current with the store at every search.

One ``FieldVectors`` per (collection id, field name): a float32 matrix of
every record's vector, the rows' norms and their record ids. Before each
search it catches up with sync's change log (``_kbChanges``), which every
record write, by any process or node, adds to inside its own transaction: the
records named by changes after its cursor are read again by primary key, so a
search sees every write committed before it began, at the cost of one indexed
range read when nothing changed. On PostgreSQL a change whose transaction may
still be open behind an older one (``Dialect.settled_below``) stays above the
cursor and is remembered as applied, so none that commits later is skipped.

What invalidates a field's matrix (read again in full): a ``reset`` in the log
(a truncate, a new list rule or new fields), the log pruned past its cursor,
more changes than ``RELOAD_SHARE`` of its rows, or any change of the schema
(its stored version: a new ``dimensions``, a collection made again under the
same id, a backup restored, which every node notices as a schema change).

Everything here reads through ``Store.read_only``, never a caller's open write
transaction: the shared matrices hold committed data only.

The matrices share one memory budget (``Config.vector_cache_mb``), those being
loaded included; the least recently searched go first, and a field whose matrix
does not fit is not cached (``VectorCache.current`` gives ``None``: the caller
streams instead).
"""

from __future__ import annotations

import asyncio
import binascii
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.schema import Schema
from keelbase.core.fields import VectorField
from keelbase.services.sync.changelog import RESET, ChangeLog, Position
from keelbase.store.base import Connection, Row, Store

if TYPE_CHECKING:
    import numpy as np

Key = tuple[str, str]  # (collection id, field name)
LOAD_CHUNK = 5000  # rows read at a time when a matrix is loaded
# Catching up with more changes than this share of the rows (or MAX_CATCH_UP) loads again.
RELOAD_SHARE = 0.2
MAX_CATCH_UP = 20_000
ROW_OVERHEAD = 120  # bytes a row costs besides its vector: its id, its place in the id map


def row_bytes(dimensions: int) -> int:
    """Memory one cached row takes, for the budget."""
    return dimensions * 4 + 4 + 1 + ROW_OVERHEAD


class FieldVectors:
    """The vectors of one field, rows reused after deletes (``live`` says which hold one)."""

    def __init__(self, dimensions: int, schema_version: int, capacity: int) -> None:
        import numpy as np

        self.dimensions = dimensions
        self.schema_version = schema_version
        capacity = max(capacity, 16)
        self.matrix = np.zeros((capacity, dimensions), dtype=np.float32)
        self.norms = np.zeros(capacity, dtype=np.float32)
        self.live = np.zeros(capacity, dtype=bool)
        self.ids: list[str] = [""] * capacity
        self.rows: dict[str, int] = {}
        self.size = 0  # rows in use, live or freed
        self.free: list[int] = []
        # Every change at or below ``cursor`` is applied, and so are the ``applied``
        # ones above it (committed while an older transaction could still commit).
        self.cursor: Position = (0, 0)
        self.applied: set[int] = set()
        self.pruned: Position = (0, 0)

    @property
    def nbytes(self) -> int:
        return len(self.ids) * row_bytes(self.dimensions)

    def __len__(self) -> int:
        return len(self.rows)

    def put(self, rows: Iterable[tuple[str, Any]]) -> None:
        """Store ``(id, stored value)`` pairs; an empty or unreadable value (another
        length: written before ``dimensions`` changed) removes the id's row."""
        import numpy as np

        size = self.dimensions * 4
        ids: list[str] = []
        parts: list[bytes] = []
        for record_id, raw in rows:
            data = _bytes(raw)
            if len(data) == size:
                ids.append(record_id)
                parts.append(data)
            else:
                self.remove(record_id)
        if not ids:
            return
        block = np.frombuffer(b"".join(parts), dtype="<f4").reshape(len(ids), self.dimensions)
        places = np.fromiter((self._row_for(i) for i in ids), dtype=np.int64, count=len(ids))
        self.matrix[places] = block
        self.norms[places] = np.linalg.norm(block, axis=1)
        self.live[places] = True

    def remove(self, record_id: str) -> None:
        row = self.rows.pop(record_id, None)
        if row is not None:
            self.live[row] = False
            self.ids[row] = ""
            self.free.append(row)

    def _row_for(self, record_id: str) -> int:
        row = self.rows.get(record_id)
        if row is not None:
            return row
        if self.free:
            row = self.free.pop()
        else:
            if self.size == len(self.ids):
                self._grow(self.size + self.size // 2 + 16)
            row = self.size
            self.size += 1
        self.rows[record_id] = row
        self.ids[row] = record_id
        return row

    def _grow(self, capacity: int) -> None:
        import numpy as np

        matrix = np.zeros((capacity, self.dimensions), dtype=np.float32)
        matrix[: self.size] = self.matrix[: self.size]
        norms = np.zeros(capacity, dtype=np.float32)
        norms[: self.size] = self.norms[: self.size]
        live = np.zeros(capacity, dtype=bool)
        live[: self.size] = self.live[: self.size]
        self.matrix, self.norms, self.live = matrix, norms, live
        self.ids.extend([""] * (capacity - len(self.ids)))

    def nearest(
        self,
        query: np.ndarray,
        metric: str,
        count: int,
        allowed: list[str] | None,
        excluded: set[str],
    ) -> tuple[list[tuple[str, float]], int]:
        """The ``count`` nearest ``(id, distance)``, nearest first and ties by id, among
        the ``allowed`` ids (``None``: every row) but the ``excluded``; and how many
        rows were candidates. ``query`` is unit length for cosine."""
        import numpy as np

        if allowed is None:
            rows = np.flatnonzero(self.live[: self.size])
        else:
            found = (self.rows.get(i) for i in allowed)
            rows = np.fromiter((r for r in found if r is not None), dtype=np.int64)
        if excluded:
            gone = [self.rows[i] for i in excluded if i in self.rows]
            rows = rows[~np.isin(rows, gone)]
        scanned = len(rows)
        if scanned == 0:
            return [], 0
        # A product over the whole matrix beats copying most of its rows out first.
        if len(rows) * 3 > self.size:
            dots = (self.matrix[: self.size] @ query)[rows]
        else:
            dots = self.matrix[rows] @ query
        norms = self.norms[rows]
        # Scores in float32 rank the rows; a margin covers what their rounding could
        # reorder (at most some 1e-5 of |row|·|query| for 256 terms, given generously),
        # then the few rows within it are measured again in float64.
        if metric == "cosine":
            with np.errstate(divide="ignore", invalid="ignore"):
                scores = 1.0 - np.where(norms > 0, dots / norms, 0.0)
            slack = 1e-4
        else:  # squared L2: the same order as L2, without a square root near 0
            qq = float(query @ query)
            scores = norms.astype(np.float64) ** 2 - 2 * dots + qq
            slack = 1e-4 * (float(norms.max()) ** 2 + qq)
        scores = np.nan_to_num(scores, nan=np.inf)
        keep = np.arange(len(rows))
        if len(rows) > count:
            kth = float(np.partition(scores, count - 1)[count - 1])
            keep = np.flatnonzero(scores <= kth + (slack if np.isfinite(kth) else 0.0))
            rows = rows[keep]
        if len(rows) <= 4 * count + 1000:
            exact = _exact(self.matrix[rows], query, metric)
        else:  # a great many ties (equal vectors, zero ones for cosine): as scored
            exact = scores[keep] if metric == "cosine" else np.sqrt(np.maximum(scores[keep], 0))
        ranked = sorted(
            zip(exact.tolist(), (self.ids[r] for r in rows.tolist()), strict=True),
            key=lambda pair: (pair[0], pair[1]),
        )
        return [(record_id, distance) for distance, record_id in ranked[:count]], scanned


def _exact(matrix: np.ndarray, query: np.ndarray, metric: str) -> np.ndarray:
    """Distances of a few rows in float64 (``query`` unit length for cosine)."""
    import numpy as np

    rows = matrix.astype(np.float64)
    q = query.astype(np.float64)
    if metric == "l2":
        return np.asarray(np.linalg.norm(rows - q, axis=1))
    norms = np.linalg.norm(rows, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        similarity = np.where(norms > 0, (rows @ q) / norms, 0.0)
    return np.asarray(np.nan_to_num(1.0 - similarity, nan=np.inf))


def _bytes(raw: Any) -> bytes:
    if not isinstance(raw, str) or not raw:
        return b""
    try:
        return binascii.a2b_base64(raw)
    except (binascii.Error, ValueError):
        return b""


class VectorCache:
    """The cached matrices of one app, within ``budget`` bytes."""

    def __init__(self, store: Store, budget: int) -> None:
        self.store = store
        self.log = ChangeLog(store.dialect)
        self.budget = budget
        self._entries: OrderedDict[Key, FieldVectors] = OrderedDict()
        self._locks: dict[Key, asyncio.Lock] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.loads = 0  # full loads done, for tests and figures
        self._loading = 0  # bytes set aside for the matrices being loaded
        self.load_chunk = LOAD_CHUNK

    def _lock(self, key: Key) -> asyncio.Lock:
        """The field's lock on this event loop (an app may be started again on another)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._locks = loop, {}
        return self._locks.setdefault(key, asyncio.Lock())

    @asynccontextmanager
    async def current(
        self, collection: Collection, field: VectorField, schema: Schema, schema_version: int
    ) -> AsyncIterator[FieldVectors | None]:
        """The field's vectors with every committed write applied, held for the block
        (searches of one field take turns; one load when several ask at once);
        ``None`` when they do not fit the budget. The entries of collections
        ``schema`` no longer holds are dropped; ``schema_version`` is the stored one
        (``CollectionsService.stored_version``): a matrix of another is loaded again."""
        key = (collection.id, field.name)
        for gone in [k for k in self._entries if schema.by_id(k[0]) is None]:
            del self._entries[gone]
        async with self._lock(key):
            entry = self._entries.get(key)
            if entry is not None and (
                entry.dimensions != field.dimensions
                or entry.schema_version != schema_version
                or not await self._catch_up(entry, collection, field)
            ):
                del self._entries[key]
                entry = None
            if entry is None:
                entry = await self._load(collection, field, schema_version)
            elif entry.nbytes > self.budget:  # grew past it
                del self._entries[key]
                entry = None
            if entry is not None:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                self._make_room(0)  # a matrix that grew as it caught up: others may go
            yield entry

    async def _load(
        self, collection: Collection, field: VectorField, schema_version: int
    ) -> FieldVectors | None:
        table = self.store.dialect.quote(collection.name)
        async with self.store.read_only() as conn:
            # the log's position first: whatever is written while the rows are read is
            # above it and applied again by the catch-up below
            head = await self._head(conn, collection.id)
            pruned = await self.log.pruned(conn)
            row = await conn.fetch_one(f'SELECT COUNT(*) AS "n" FROM {table}')
        count = int(row["n"]) if row else 0
        capacity = max(count + count // 20, 16)  # room for some growth before a copy
        reserved = capacity * row_bytes(field.dimensions)
        if not self._make_room(reserved):
            return None
        self._loading += reserved  # a load of another field at once fits beside it, or streams
        try:
            entry = await self._fill(collection, field, schema_version, capacity, head, pruned)
        finally:
            self._loading -= reserved
        if entry is None or not self._make_room(entry.nbytes):
            return None
        return entry

    async def _fill(
        self,
        collection: Collection,
        field: VectorField,
        schema_version: int,
        capacity: int,
        head: Position,
        pruned: Position,
    ) -> FieldVectors | None:
        """Read every row into a new matrix and catch it up (``None``: load again later)."""
        q = self.store.dialect.quote
        table, column = q(collection.name), q(field.name)
        entry = FieldVectors(field.dimensions, schema_version, capacity)
        entry.cursor, entry.pruned = max(head, pruned), pruned
        sql = (
            f"SELECT {q('id')} AS id, {column} AS value FROM {table} "
            f"WHERE {column} <> '' AND {q('id')} > :after ORDER BY {q('id')} LIMIT :limit"
        )
        size = self.load_chunk

        async def chunk(after: str) -> list[Row]:
            async with self.store.read_only() as conn:
                return await conn.fetch_all(sql, {"after": after, "limit": size})

        # the next chunk is read while this one is decoded
        pending: asyncio.Task[list[Row]] | None = asyncio.create_task(chunk(""))
        try:
            while pending is not None:
                rows = await pending
                pending = None
                if len(rows) == size:
                    pending = asyncio.create_task(chunk(rows[-1]["id"]))
                if rows:
                    await asyncio.to_thread(entry.put, [(r["id"], r["value"]) for r in rows])
        finally:
            if pending is not None:
                pending.cancel()
        self.loads += 1
        return entry if await self._catch_up(entry, collection, field) else None

    async def _head(self, conn: Connection, collection_id: str) -> Position:
        row = await conn.fetch_one(
            'SELECT "tx", "seq" FROM "_kbChanges" WHERE "collection" = :collection '
            f'AND "tx" < {self.store.dialect.settled_below()} '
            'ORDER BY "tx" DESC, "seq" DESC LIMIT 1',
            {"collection": collection_id},
        )
        return (int(row["tx"]), int(row["seq"])) if row else (0, 0)

    async def _catch_up(
        self, entry: FieldVectors, collection: Collection, field: VectorField
    ) -> bool:
        """Apply the changes after the entry's cursor; ``False`` when it must be loaded again."""
        # changes already applied above the cursor come again (PostgreSQL, while an older
        # transaction is open): they do not count against the limit
        limit = min(MAX_CATCH_UP, max(100, int(len(entry) * RELOAD_SHARE))) + len(entry.applied)
        async with self.store.read_only() as conn:
            rows = await conn.fetch_all(
                self.log.read_sql(),
                {
                    "collection": collection.id,
                    "tx": entry.cursor[0],
                    "seq": entry.cursor[1],
                    "limit": limit + 1,
                },
            )
            # read after the changes: a prune that took some of them before they were
            # read has moved this mark by now
            pruned = await self.log.pruned(conn)
        if pruned != entry.pruned and pruned > entry.cursor:
            return False
        entry.pruned = pruned
        if len(rows) > limit:
            return False
        fresh = [row for row in rows if int(row["seq"]) not in entry.applied]
        if any(row["action"] == RESET for row in fresh):
            return False
        ids = list(dict.fromkeys(str(row["record"]) for row in fresh))
        if ids:
            await self._read_again(entry, collection, field, ids)
        settled = [row for row in rows if int(row["tx"]) < int(row["settled"])]
        if settled:
            entry.cursor = max((int(r["tx"]), int(r["seq"])) for r in settled)
        entry.applied = {int(r["seq"]) for r in rows if int(r["tx"]) >= int(r["settled"])}
        return True

    async def _read_again(
        self, entry: FieldVectors, collection: Collection, field: VectorField, ids: list[str]
    ) -> None:
        q = self.store.dialect.quote
        found: dict[str, Any] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            params = {f"i{n}": record_id for n, record_id in enumerate(part)}
            placeholders = ", ".join(f":{name}" for name in params)
            async with self.store.read_only() as conn:
                rows = await conn.fetch_all(
                    f"SELECT {q('id')} AS id, {q(field.name)} AS value "
                    f"FROM {q(collection.name)} WHERE {q('id')} IN ({placeholders})",
                    params,
                )
            found.update((row["id"], row["value"]) for row in rows)
        for record_id in ids:
            if record_id not in found:
                entry.remove(record_id)
        entry.put(found.items())

    def _make_room(self, needed: int) -> bool:
        """Drop the least recently searched matrices until ``needed`` bytes fit the budget
        (the most recently searched is the last to go; no entry is over the budget)."""
        needed += self._loading
        if needed > self.budget:
            return False
        while self._entries and sum(e.nbytes for e in self._entries.values()) + needed > (
            self.budget
        ):
            self._entries.popitem(last=False)
        return True
