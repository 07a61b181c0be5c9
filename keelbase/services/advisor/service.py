"""Index suggestions from the slow list queries this node has run.

For each costly shape the advisor derives the index its conditions and sort
could walk (``core/advisor/shapes.py``), asks the store what the shape's most
recent query costs without and with it (``Store.try_index``: a build that is
rolled back, or a hypothetical index on PostgreSQL with ``hypopg``), and
suggests the ones that pay. Applying one is an ordinary collection update, so
automigrate records it like any index a superuser adds.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from typing import Any

from keelbase.core.advisor.shapes import candidate
from keelbase.core.collections.collection import Collection
from keelbase.core.collections.indexes import column_name, parse_index
from keelbase.core.request_info import SYSTEM
from keelbase.errors import ApiError, BadRequestError, field_error
from keelbase.services.advisor.recorder import ShapeRecorder, ShapeStats
from keelbase.services.collections.service import CollectionsService
from keelbase.services.records.listing import ListParams
from keelbase.services.records.service import RecordsService
from keelbase.store.base import Store, StoreError
from keelbase.store.ddl import index_statements
from keelbase.store.index_trial import IndexTrial

log = logging.getLogger("keelbase.advisor")
SHAPES_TRIED = 10  # each try builds an index (or asks the planner): keep a GET bounded
MIN_RATIO = 1.5  # a suggestion must make its query at least this much faster or cheaper
MAX_NAME = 60  # PostgreSQL cuts identifiers at 63 bytes


class AdvisorService:
    def __init__(
        self,
        store: Store,
        records: RecordsService,
        collections: CollectionsService,
        recorder: ShapeRecorder | None = None,
        *,
        listen: bool = True,
    ) -> None:
        """With ``listen`` it hears every timed list page itself; without, the owner
        passes them to ``timed`` (``App`` builds the advisor on first use)."""
        self.store = store
        self.records = records
        self.collections = collections
        self.recorder = recorder or ShapeRecorder()
        if listen:
            records.on_list_timed(self.timed)

    def timed(
        self, collection: Collection, filter_text: str, sort: str, rule: str, seconds: float
    ) -> None:
        if not collection.is_view:
            self.recorder.record(collection.id, filter_text, sort, rule, seconds)

    async def suggestions(self) -> list[dict[str, Any]]:
        """The indexes that would serve the costliest shapes, best gain first."""
        found: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
        for stats in self.recorder.top(SHAPES_TRIED):
            collection = self.collections.schema.by_id(stats.shape.collection_id)
            if collection is None or collection.is_view:
                continue
            columns = _columns_for(stats, collection)
            if not columns:
                continue
            key = (collection.id, columns)
            if key in found:
                found[key]["shapes"].append(stats.to_json())
                continue
            trial = await self._try(collection, columns, stats)
            if trial is None or (trial.ratio or 0) < MIN_RATIO:
                continue
            found[key] = {
                "collection": collection.name,
                "collectionId": collection.id,
                "columns": list(columns),
                "index": _index_text(collection, columns),
                "shapes": [stats.to_json()],
                "gain": trial.to_json(),
            }
        return sorted(found.values(), key=lambda s: s["gain"]["ratio"] or 0, reverse=True)

    async def _try(
        self, collection: Collection, columns: tuple[str, ...], stats: ShapeStats
    ) -> IndexTrial | None:
        params = ListParams(filter=stats.example_filter, sort=stats.example_sort)
        try:
            sql, values = self.records.list_statement(collection, params, SYSTEM)
        except ApiError:
            return None  # the schema moved on and the query no longer reads
        trial_copy = copy.copy(collection)
        trial_copy.indexes = [_index_text(collection, columns)]
        dialect = self.store.dialect
        # the candidate is the collection's only index; Keelbase's own (position None) are not tried
        statement = next(
            s
            for s in index_statements(trial_copy, dialect.quote(collection.name), dialect.name)
            if s.position == 0
        )
        try:
            return await self.store.try_index(statement.sql, sql, values)
        except StoreError:
            log.warning("index trial failed: %s", statement.sql, exc_info=True)
            return None  # e.g. the name is taken by another table's index

    async def apply(self, data: Any) -> Collection:
        """Add ``data["index"]`` to ``data["collection"]``'s indexes: a collection update."""
        if not isinstance(data, dict):
            raise BadRequestError("Invalid body.")
        name, index = data.get("collection"), data.get("index")
        errors: dict[str, Any] = {}
        if not isinstance(name, str) or not name:
            errors["collection"] = field_error("validation_required", "Missing required value.")
        if not isinstance(index, str) or not index:
            errors["index"] = field_error("validation_required", "Missing required value.")
        if errors:
            raise BadRequestError("Failed to apply the index.", errors)
        assert isinstance(name, str) and isinstance(index, str)
        collection = self.collections.schema.get(name)
        if collection is None or collection.is_view:
            raise BadRequestError(
                "Failed to apply the index.",
                {"collection": field_error("validation_invalid_value", "Not a table collection.")},
            )
        parsed = parse_index(index)
        if parsed is None or parsed.table not in (collection.name, collection.id):
            raise BadRequestError(
                "Failed to apply the index.",
                {
                    "index": field_error(
                        "validation_invalid_value", "Not an index on this collection."
                    )
                },
            )
        taken = {index.name.lower() for index in map(parse_index, collection.indexes) if index}
        if parsed.name.lower() in taken:
            raise BadRequestError(
                "Failed to apply the index.",
                {"index": field_error("validation_index_exists", "The index exists already.")},
            )
        return await self.collections.update(
            collection.id, {"indexes": [*collection.indexes, index]}
        )


def _columns_for(stats: ShapeStats, collection: Collection) -> tuple[str, ...]:
    """The candidate's columns, unless an existing index already starts with them."""
    fields = frozenset(f.name for f in collection.fields)
    columns = candidate(stats.example_filter, stats.example_sort, fields).columns
    if not columns or columns == ("id",):
        return ()
    for sql in collection.indexes:
        index = parse_index(sql)
        if index is None or index.where:
            continue
        existing = tuple(column_name(c) for c in index.columns)
        if existing[: len(columns)] == columns:
            return ()
    return columns


def _index_text(collection: Collection, columns: tuple[str, ...]) -> str:
    """The statement as a collection's ``indexes`` hold it (PocketBase's quoting)."""
    name = f"idx_{collection.name}_{'_'.join(columns)}"
    if len(name) > MAX_NAME:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name[: MAX_NAME - 9]}_{digest}"
    quoted = ", ".join(f"`{c}`" for c in columns)
    return f"CREATE INDEX `{name}` ON `{collection.name}` ({quoted})"
