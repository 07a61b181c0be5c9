"""Exact k-nearest-neighbour search over a ``vector`` field, by cosine or L2 distance.

Neither sqlite-vec nor pgvector can be relied on here (the stdlib ``sqlite3``
of this Python cannot load extensions, and Debian 12 ships no pgvector for
PostgreSQL 15), so the search is exact and the same on both stores. Its usual
path is the field's in-memory matrix (``matrix.py``), brought up to date from
sync's change log before each search; the list rule and the ``filter`` give
the candidate ids in SQL when they restrict anything. A field whose matrix
does not fit the memory budget, or a view's, is streamed instead: the rows the
caller may list are read in keyset chunks, scored with numpy, and a running
top k is kept, so memory stays bounded by the chunk. Either way the winners
are read at the end through the rule and the filter again.
"""

from __future__ import annotations

import asyncio
import binascii
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keelbase.adapters import embeddings
from keelbase.core.collections.collection import Collection
from keelbase.core.fields import FieldInvalid, VectorField
from keelbase.core.request_info import RequestInfo
from keelbase.errors import ApiError, BadRequestError, field_error
from keelbase.services.records.listing import MAX_FILTER_LENGTH
from keelbase.services.records.query import RecordQuery
from keelbase.services.records.service import RecordsService
from keelbase.services.vectors.matrix import VectorCache

if TYPE_CHECKING:  # numpy is imported when first used: a start without vectors skips it
    import numpy as np

DEFAULT_CACHE_MB = 1024
DEFAULT_K = 10
MAX_K = 100
CHUNK = 5000
METRICS = ("cosine", "l2")
QUERIES = ("vector", "record", "records", "text")
MAX_TEXT = 10_000  # characters of a text query
MAX_SOURCES = 50  # records a recommendation's query vector is made of


class VectorSearch:
    def __init__(self, records: RecordsService, cache_bytes: int = DEFAULT_CACHE_MB << 20) -> None:
        self.records = records
        self.chunk = CHUNK  # rows read and scored at a time by the streaming path
        # 0 bytes: every search streams
        self.cache = VectorCache(records.store, cache_bytes)

    async def nearest(
        self, collection: Collection, args: Mapping[str, Any], info: RequestInfo, expand: str = ""
    ) -> dict[str, Any]:
        """``args``: ``field``, ``vector`` or ``record``, ``k``, ``metric``, ``filter``.

        With ``record`` (an id) the query is that record's vector, read under the
        view rule, and the record itself is left out: "similar records"."""
        import numpy as np

        field = _field(collection, args.get("field"), info)
        source = args.get("record")
        given = [key for key in QUERIES if args.get(key) is not None]
        if len(given) > 1:
            raise _invalid(given[1], "Give one of vector, record, records or text.")
        metric = args.get("metric") or "cosine"
        if metric not in METRICS:
            raise _invalid("metric", f"Must be one of {', '.join(METRICS)}.")
        excluded: set[str] = set()
        if source is not None:
            if not isinstance(source, str) or not source:
                raise _invalid("record", "Must be a record id.")
            viewed = await self.records.view(collection, source, info)
            if not viewed.get(field.name):
                raise _invalid("record", "The record has no vector in this field.")
            query = _query_vector(field, viewed[field.name])
            excluded = {source}
        elif args.get("records") is not None:
            excluded = set(_record_ids(args.get("records")))
            query = await self._taste(collection, field, excluded, info, metric)
        elif args.get("text") is not None:
            query = await _text_vector(field, args.get("text"))
        else:
            query = _query_vector(field, args.get("vector"))
        k = _k(args.get("k"))
        filter_text = args.get("filter") or ""
        if not isinstance(filter_text, str) or len(filter_text) > MAX_FILTER_LENGTH:
            raise _invalid("filter", "Must be a filter of at most 3500 characters.")
        if metric == "cosine":
            norm = float(np.linalg.norm(query))
            if norm == 0:
                raise _invalid("vector", "A zero vector has no direction for cosine distance.")
            query = query / norm
        query_sql = self.records.listable_query(collection, filter_text, info)
        # the k nearest and a few more, in case some leave the caller's view before they are read
        wanted = k + min(k, 10)
        ranked, scanned = await self._cached(
            collection, field, query, metric, wanted, query_sql, excluded
        )
        if ranked is None:
            ranked, scanned = await self._streamed(
                collection, field, query, metric, wanted, filter_text, info, excluded
            )
        ids = [record_id for record_id, _ in ranked]
        # read through the rule and the filter again: only records the caller may list now
        records = await self.records.listable_by_ids(collection, ids, filter_text, info)
        by_id = {record.id: record for record in records}
        found = [by_id[i] for i in ids if i in by_id][:k]
        exported = await self.records.export_many(found, info, expand)
        distance_of = dict(ranked)
        return {
            "metric": metric,
            "k": k,
            "scanned": scanned,
            "items": [
                {"distance": distance_of[record.id], "record": item}
                for record, item in zip(found, exported, strict=True)
            ],
        }

    async def _cached(
        self,
        collection: Collection,
        field: VectorField,
        query: np.ndarray,
        metric: str,
        count: int,
        listable: RecordQuery,
        excluded: set[str],
    ) -> tuple[list[tuple[str, float]] | None, int]:
        """The nearest by the in-memory matrix; ``None`` when the field is not cached (a
        view, a matrix beyond the memory budget) or the search runs inside a write
        transaction (a hook's), whose own uncommitted writes only a read in it sees."""
        if collection.is_view or self.cache.budget <= 0 or self.records.store.in_transaction():
            return None, 0
        # the ids the rule and the filter let through, unless neither restricts anything
        allowed = await self.records.listable_ids(listable) if listable.conditions else None
        schema, version = self.records.schema, self.records.collections.stored_version
        async with self.cache.current(collection, field, schema, version) as vectors:
            if vectors is None:
                return None, 0
            return await asyncio.to_thread(vectors.nearest, query, metric, count, allowed, excluded)

    async def _streamed(
        self,
        collection: Collection,
        field: VectorField,
        query: np.ndarray,
        metric: str,
        count: int,
        filter_text: str,
        info: RequestInfo,
        excluded: set[str],
    ) -> tuple[list[tuple[str, float]], int]:
        """The nearest by reading the rows the caller may list in keyset chunks: memory
        bounded by the chunk, time by the rows."""
        import numpy as np

        best_ids: list[str] = []
        best = np.empty(0, dtype=np.float32)
        scanned = 0
        async for chunk in self.records.column_chunks(
            collection, field.name, filter_text, info, self.chunk
        ):
            # decoding and scoring take a while: off the event loop, which keeps serving
            if excluded:
                chunk = [row for row in chunk if row[0] not in excluded]
            ids, distances = await asyncio.to_thread(_score, chunk, field.dimensions, query, metric)
            scanned += len(ids)
            if not ids:
                continue
            merged = np.concatenate([best, distances])
            merged_ids = best_ids + ids
            # stable: of equal distances the lower id (read first) wins
            keep = np.argsort(merged, kind="stable")[:count]
            best = merged[keep]
            best_ids = [merged_ids[i] for i in keep]
        return list(zip(best_ids, best.tolist(), strict=True)), scanned

    async def _taste(
        self,
        collection: Collection,
        field: VectorField,
        ids: set[str],
        info: RequestInfo,
        metric: str,
    ) -> np.ndarray:
        """The query vector of a recommendation: the mean of the given records' vectors
        (each made unit length first for cosine, so no record outweighs the others).

        Only records the caller may view count; the others are skipped silently, as
        if they were not given, so a list of ids reveals nothing about hidden ones.
        """
        import numpy as np

        vectors = []
        for record_id in sorted(ids):
            try:
                viewed = await self.records.view(collection, record_id, info)
            except ApiError:
                continue
            raw = viewed.get(field.name)
            if not raw:
                continue
            vector = np.asarray(raw, dtype=np.float32)
            if metric == "cosine":
                norm = float(np.linalg.norm(vector))
                if norm == 0:
                    continue
                vector = vector / norm
            vectors.append(vector)
        if not vectors:
            raise _invalid("records", "None of these records has a vector you may see.")
        return np.mean(np.stack(vectors), axis=0).astype(np.float32)


async def _text_vector(field: VectorField, text: Any) -> np.ndarray:
    """A text query, embedded by the model that embeds the field's ``embedFrom`` texts
    (any other vector would not be comparable)."""
    if not field.embedFrom:
        raise _invalid("text", "The field does not embed text (its embedFrom is empty).")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise _invalid("text", f"Must be a text of 1 to {MAX_TEXT} characters.")
    rows = await asyncio.to_thread(embeddings.embed, [text], field.dimensions)
    return rows[0]


def _record_ids(raw: Any) -> list[str]:
    """``records``: a list of ids, or ids separated by commas (a query string)."""
    ids = raw.split(",") if isinstance(raw, str) else raw
    if (
        not isinstance(ids, list)
        or not 1 <= len(ids) <= MAX_SOURCES
        or not all(isinstance(i, str) and 0 < len(i.strip()) <= 100 for i in ids)
    ):
        raise _invalid("records", f"Must be 1 to {MAX_SOURCES} record ids.")
    return [i.strip() for i in ids]


def _invalid(key: str, message: str) -> BadRequestError:
    return BadRequestError(data={key: field_error("validation_invalid_value", message)})


def _field(collection: Collection, name: Any, info: RequestInfo) -> VectorField:
    field = collection.field(name) if isinstance(name, str) else None
    if not isinstance(field, VectorField) or (field.hidden and not info.is_superuser):
        raise _invalid("field", "Must be the name of a vector field of the collection.")
    return field


def _query_vector(field: VectorField, raw: Any) -> np.ndarray:
    import numpy as np

    value = field.prepare(raw)
    try:
        if field.is_empty(value):
            raise FieldInvalid("validation_required", "Missing required value.")
        field.validate_value(value)
    except FieldInvalid as error:
        raise BadRequestError(data={"vector": error.to_json()}) from error
    return np.asarray(value, dtype=np.float32)


def _k(raw: Any) -> int:
    if raw is None or raw == "":
        return DEFAULT_K
    try:
        k = int(raw)
    except (TypeError, ValueError, OverflowError):
        k = 0
    if isinstance(raw, bool) or not 1 <= k <= MAX_K:
        raise _invalid("k", f"Must be a whole number from 1 to {MAX_K}.")
    return k


def _score(
    rows: list[tuple[str, Any]], dimensions: int, query: np.ndarray, metric: str
) -> tuple[list[str], np.ndarray]:
    ids, matrix = _matrix(rows, dimensions)
    return ids, _distances(matrix, query, metric)


def _matrix(rows: list[tuple[str, Any]], dimensions: int) -> tuple[list[str], np.ndarray]:
    """The chunk's vectors as one float32 matrix; cells of another length (written
    before ``dimensions`` changed) or unreadable ones are left out."""
    import numpy as np

    size = dimensions * 4
    ids: list[str] = []
    parts: list[bytes] = []
    for record_id, raw in rows:
        try:
            data = binascii.a2b_base64(raw) if isinstance(raw, str) else b""
        except (binascii.Error, ValueError):
            continue
        if len(data) == size:
            ids.append(record_id)
            parts.append(data)
    matrix = np.frombuffer(b"".join(parts), dtype="<f4").reshape(len(ids), dimensions)
    return ids, matrix


def _distances(matrix: np.ndarray, query: np.ndarray, metric: str) -> np.ndarray:
    """Cosine distance (1 - cosine similarity; a zero vector is 1 from everything) or
    Euclidean distance, of each row to ``query`` (already unit length for cosine)."""
    import numpy as np

    dots = matrix @ query
    if metric == "cosine":
        norms = np.linalg.norm(matrix, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            similarity = np.where(norms > 0, dots / norms, 0.0)
        return (1.0 - similarity).astype(np.float32)
    squared = np.einsum("ij,ij->i", matrix, matrix) - 2 * dots + float(query @ query)
    return np.sqrt(np.maximum(squared, 0)).astype(np.float32)
