"""An immutable snapshot of every collection, with a version that changes on each edit.

Services read collections from the current snapshot; caches key on its version.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from keelbase.core.collections.collection import Collection


class Schema:
    def __init__(self, collections: Iterable[Collection] = (), version: int = 0) -> None:
        self.version = version
        self._ordered = list(collections)
        self._by_id = {c.id: c for c in self._ordered}
        self._by_name = {c.name.lower(): c for c in self._ordered}

    def __iter__(self) -> Iterator[Collection]:
        return iter(self._ordered)

    def __len__(self) -> int:
        return len(self._ordered)

    def get(self, id_or_name: str) -> Collection | None:
        """By id first, then by name (names are unique case-insensitively)."""
        return self._by_id.get(id_or_name) or self._by_name.get(id_or_name.lower())

    def by_id(self, collection_id: str) -> Collection | None:
        return self._by_id.get(collection_id)

    def referencing(self, target: Collection) -> list[tuple[Collection, str]]:
        """(collection, relation field name) pairs that point at ``target``."""
        out: list[tuple[Collection, str]] = []
        for collection in self._ordered:
            for relation in collection.relation_fields():
                if relation.collectionId == target.id:
                    out.append((collection, relation.name))
        return out

    def replaced(self, collections: Iterable[Collection]) -> Schema:
        return Schema(collections, self.version + 1)
