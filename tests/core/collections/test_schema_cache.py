"""SchemaCache: entries belong to one schema snapshot's collections, never to an address."""

from __future__ import annotations

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.schema import Schema
from keelbase.core.collections.schema_cache import SchemaCache


class _Holder:
    """The live schema, as the collections service holds it."""

    def __init__(self, *collections: Collection) -> None:
        self.schema = Schema(collections)

    def change(self, *collections: Collection) -> None:
        self.schema = self.schema.replaced(collections)


def test_a_new_collection_object_never_gets_an_old_ones_entry() -> None:
    holder = _Holder(Collection(id="c1", name="secret"))
    cache: SchemaCache[str, str] = SchemaCache(lambda: holder.schema)
    old = holder.schema.by_id("c1")
    assert old is not None
    cache.put(old, "view", "SELECT FROM secret")
    assert cache.get(old, "view") == "SELECT FROM secret"

    # The schema changes: the same id now names another definition, in a new object.
    holder.change(Collection(id="c1", name="renamed"))
    new = holder.schema.by_id("c1")
    assert new is not None
    assert cache.get(new, "view") is None
    assert len(cache) == 0, "a schema change drops every entry"
    # The old object is no longer the schema's: it is neither served nor stored.
    cache.put(old, "view", "stale")
    assert cache.get(old, "view") is None
    assert cache.get(new, "view") is None


def test_get_or_make_keeps_only_the_current_schemas_values() -> None:
    holder = _Holder(Collection(id="c1", name="a"))
    cache: SchemaCache[str, int] = SchemaCache(lambda: holder.schema)
    current = holder.schema.by_id("c1")
    assert current is not None
    made: list[int] = []

    def make() -> int:
        made.append(1)
        return len(made)

    assert cache.get_or_make(current, "plan", make) == 1
    assert cache.get_or_make(current, "plan", make) == 1
    copy = current.copy()  # e.g. a hook's edited copy: worked out afresh each time
    assert cache.get_or_make(copy, "plan", make) == 2
    assert cache.get_or_make(copy, "plan", make) == 3
    assert cache.get_or_make(current, "plan", make) == 1
