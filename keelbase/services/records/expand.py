"""``expand``: related records placed under each record's ``expand`` key.

Each level is one query per relation (all parents' ids at once), never one per
record. Related records pass their own collection's view rule; what a client
may not see is simply left out, as PocketBase does.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import replace

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.indexes import has_single_unique_index
from keelbase.core.collections.schema import Schema
from keelbase.core.fields import RelationField
from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo
from keelbase.services.records.codec import RecordCodec
from keelbase.services.records.query import RecordQuery
from keelbase.store.base import Store

log = logging.getLogger("keelbase.expand")
MAX_DEPTH = 6
BACK_RELATION_LIMIT = 1000
CHUNK = 500

ExpandTree = dict[str, "ExpandTree"]


def parse_expand(text: str) -> ExpandTree:
    tree: ExpandTree = {}
    for raw in text.replace(" ", "").split(","):
        path = raw.strip(".")
        if not path:
            continue
        node = tree
        for key in path.split(".")[:MAX_DEPTH]:
            node = node.setdefault(key, {})
    return tree


class Expander:
    def __init__(self, store: Store, schema: Schema, info: RequestInfo, codec: RecordCodec) -> None:
        self.store = store
        self.schema = schema
        self.codec = codec
        self.info = replace(info, body={}, context="expand")

    async def expand(self, records: list[Record], tree: ExpandTree) -> None:
        if not records or not tree:
            return
        collection = records[0].collection
        for key, subtree in tree.items():
            try:
                await self._expand_key(collection, records, key, subtree)
            except Exception:  # a failed expand is left out, never fails the request
                log.exception("expand %r of %s failed", key, collection.name)

    async def _expand_key(
        self, collection: Collection, records: list[Record], key: str, subtree: ExpandTree
    ) -> None:
        field = collection.field(key)
        if isinstance(field, RelationField):
            if field.hidden and not self.info.is_superuser:
                return
            await self._expand_relation(records, field, key, subtree)
            return
        if "_via_" in key:
            await self._expand_back_relation(collection, records, key, subtree)

    async def _fetch(self, target: Collection, column: str, values: list[str]) -> list[Record]:
        """Records of ``target`` whose ``column`` is one of ``values``, under the view rule."""
        if target.viewRule is None and not self.info.is_superuser:
            return []
        found: list[Record] = []
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            query = RecordQuery(self.store, self.schema, target, self.info)
            query.add_rule(target.viewRule)
            placeholders = ", ".join(query.resolver.params.add(v) for v in chunk)
            query.conditions.append(f"{query.q(query.alias)}.{query.q(column)} IN ({placeholders})")
            async with self.store.read() as conn:
                rows = await conn.fetch_all(query.select_sql(limit=False), query.params)
            found.extend(self.codec.from_row(target, row) for row in rows)
        return found

    async def _expand_relation(
        self, records: list[Record], field: RelationField, key: str, subtree: ExpandTree
    ) -> None:
        target = self.schema.by_id(field.collectionId)
        if target is None:
            return
        ids: list[str] = []
        seen: set[str] = set()
        for record in records:
            for value in field.as_list(record.get(key)):
                if value not in seen:
                    seen.add(value)
                    ids.append(value)
        related = await self._fetch(target, "id", ids) if ids else []
        await self.expand(related, subtree)
        by_id = {r.id: r for r in related}
        for record in records:
            if record.expand is None:
                record.expand = {}
            found = [by_id[i] for i in field.as_list(record.get(key)) if i in by_id]
            if not found:
                continue
            record.expand[key] = found if field.multiple else found[0]

    async def _expand_back_relation(
        self, collection: Collection, records: list[Record], key: str, subtree: ExpandTree
    ) -> None:
        name, _, field_name = key.partition("_via_")
        target = self.schema.get(name)
        if target is None:
            return
        field = target.field(field_name)
        if not isinstance(field, RelationField) or field.collectionId != collection.id:
            return
        if field.hidden and not self.info.is_superuser:
            return
        parent_ids = [r.id for r in records]
        if field.multiple:
            related = await self._fetch_multi_back(target, field, parent_ids)
        else:
            related = await self._fetch(target, field.name, parent_ids)
        await self.expand(related, subtree)
        children: dict[str, list[Record]] = defaultdict(list)
        for child in related:
            for parent in field.as_list(child.get(field.name)):
                if len(children[parent]) < BACK_RELATION_LIMIT:
                    children[parent].append(child)
        single = not field.multiple and has_single_unique_index(target.indexes, field.name)
        for record in records:
            if record.expand is None:
                record.expand = {}
            found = children.get(record.id)
            if found:
                record.expand[key] = found[0] if single else found

    async def _fetch_multi_back(
        self, target: Collection, field: RelationField, parent_ids: list[str]
    ) -> list[Record]:
        if target.viewRule is None and not self.info.is_superuser:
            return []
        query = RecordQuery(self.store, self.schema, target, self.info)
        query.add_rule(target.viewRule)
        placeholders = ", ".join(query.resolver.params.add(v) for v in parent_ids)
        column = f"{query.q(query.alias)}.{query.q(field.name)}"
        query.conditions.append(
            f"EXISTS (SELECT 1 FROM {self.store.dialect.json_each(column)} __je "
            f"WHERE __je.value IN ({placeholders}))"
        )
        async with self.store.read() as conn:
            rows = await conn.fetch_all(query.select_sql(limit=False), query.params)
        return [self.codec.from_row(target, row) for row in rows]
