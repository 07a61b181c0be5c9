"""Which fields of a collection may be searchable, and the name of their full-text index.

The searchable fields are a list of names under ``search.fields`` in the
collection's JSON (a key PocketBase ignores). Only visible text and editor
fields qualify: a hidden field in the index would let a caller learn its words.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.collections.collection import Collection
from keelbase.errors import field_error

SEARCHABLE_TYPES = frozenset({"text", "editor"})
MAX_SEARCH_FIELDS = 16
# Names SQLite's FTS5 table keeps for itself: such a field cannot be one of its columns.
_TAKEN_NAMES = frozenset({"rowid", "oid", "_rowid_", "rank"})


def search_index_name(collection: Collection) -> str:
    """The full-text index's own name, from the collection's id so that a rename keeps it."""
    return f"_kb_search_{collection.id}"


def search_fields_error(collection: Collection) -> dict[str, Any] | None:
    if not collection.search:
        return None
    if collection.is_view:
        return field_error("validation_search_view", "View collections cannot be searchable.")
    if len(collection.search) > MAX_SEARCH_FIELDS:
        return field_error(
            "validation_search_too_many", f"At most {MAX_SEARCH_FIELDS} searchable fields."
        )
    for name in collection.search:
        field = collection.field(name)
        if field is None:
            return field_error("validation_search_unknown_field", f'Unknown field "{name}".')
        if field.name.lower() in _TAKEN_NAMES:
            return field_error(
                "validation_search_field_name", f'A field named "{name}" cannot be searchable.'
            )
        if field.type not in SEARCHABLE_TYPES or field.name == "id":
            return field_error(
                "validation_search_field_type",
                f'Field "{name}" is not a text or editor field.',
            )
        if field.hidden:
            return field_error(
                "validation_search_hidden_field", f'Hidden field "{name}" cannot be searchable.'
            )
    return None
