"""Record tables' DDL (SQLAlchemy Core, rendered per dialect): a table of every field
kind is created with the defaults PocketBase's columns have."""

from __future__ import annotations

import sqlite3

from keelbase.core.collections.json import collection_from_json
from keelbase.store.ddl import create_table

EVERY_KIND = {
    "name": "Every_kind",
    "type": "base",
    "fields": [
        {"name": "t", "type": "text"},
        {"name": "n", "type": "number"},
        {"name": "b", "type": "bool"},
        {"name": "j", "type": "json"},
        {"name": "many", "type": "select", "maxSelect": 3, "values": ["a"]},
        {"name": "one", "type": "select", "maxSelect": 1, "values": ["a"]},
        {"name": "where", "type": "geoPoint"},
        {"name": "CamelCase", "type": "email"},
        {"name": "order", "type": "date"},
        {"name": "f", "type": "file", "maxSelect": 2},
        {"name": "e", "type": "editor"},
        {"name": "u", "type": "url"},
        {"name": "at", "type": "autodate", "onCreate": True},
    ],
}


def test_sqlite_creates_the_table_with_its_defaults() -> None:
    collection = collection_from_json(EVERY_KIND)
    with sqlite3.connect(":memory:") as conn:
        conn.execute(create_table(collection, "sqlite"))
        conn.execute('INSERT INTO "Every_kind" ("t") VALUES (\'x\')')
        row = conn.execute(
            'SELECT "id", "n", "b", "many", "where", "j" FROM "Every_kind"'
        ).fetchone()
    assert row[0].startswith("r") and len(row[0]) == 15
    assert row[1:] == (0, 0, "[]", '{"lon":0,"lat":0}', None)
