"""What is worked out once per collection, kept for as long as the schema does not change.

Compiled SQL and record plans depend only on a collection's definition, which
only a schema change alters, and every schema change replaces the
``Collection`` objects. So entries are keyed by stable identities, the
schema's version and the collection's id, never by the object's address
(``id()``): Python gives a freed collection's address to a new one, which
would then inherit the old one's entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.schema import Schema

K = TypeVar("K")
V = TypeVar("V")


class SchemaCache(Generic[K, V]):
    """Values by (schema version, collection id, key), for the current schema only.

    Invalidated by: a schema change (a new ``Schema.version``) drops every entry.
    Only the current snapshot's own collection objects are served and stored; a
    collection read before a schema change, or a copy a hook made, may differ
    from what its id names now, so for it the caller works the value out afresh.
    """

    def __init__(self, schema: Callable[[], Schema], limit: int = 4096) -> None:
        self._schema = schema
        self._limit = limit
        self._version: int | None = None
        self._entries: dict[tuple[int, str, K], V] = {}

    def get(self, collection: Collection, key: K) -> V | None:
        version = self._version_of(collection)
        if version is None:
            return None
        return self._entries.get((version, collection.id, key))

    def put(self, collection: Collection, key: K, value: V) -> None:
        version = self._version_of(collection)
        if version is not None:
            self._store((version, collection.id, key), value)

    def get_or_make(self, collection: Collection, key: K, make: Callable[[], V]) -> V:
        """The cached value, or ``make()``'s (kept when ``collection`` is the current one)."""
        version = self._version_of(collection)
        if version is None:
            return make()
        full_key = (version, collection.id, key)
        value = self._entries.get(full_key)
        if value is None:
            value = make()
            self._store(full_key, value)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def _store(self, key: tuple[int, str, K], value: V) -> None:
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[key] = value

    def _version_of(self, collection: Collection) -> int | None:
        """The current schema's version when ``collection`` is its own object, else ``None``."""
        schema = self._schema()
        if schema.version != self._version:
            self._entries.clear()
            self._version = schema.version
        return schema.version if schema.by_id(collection.id) is collection else None
