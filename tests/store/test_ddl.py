"""Record tables' DDL (SQLAlchemy Core, rendered per dialect): a table of every field
kind is created with the defaults PocketBase's columns have."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

from keelbase.core.collections.json import collection_from_json
from keelbase.core.collections.system import initial_collections
from keelbase.core.fields import BoolField, NumberField
from keelbase.store.ddl import create_table, render_create_table, render_known_tables, table_spec
from keelbase.store.ddl_known import KNOWN_TABLES

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


def test_the_known_tables_are_what_sqlalchemy_renders() -> None:
    # After changing a system collection or store/ddl.py, rewrite them with
    # python -c "from keelbase.store.ddl import write_known_tables as w; w()" && ruff format
    assert render_known_tables() == KNOWN_TABLES
    assert {spec[0] for spec in KNOWN_TABLES} == {"sqlite", "postgresql"}


def test_a_new_folders_tables_come_from_the_known_tables() -> None:
    for dialect in ("sqlite", "postgresql"):
        for collection in initial_collections():
            assert (
                create_table(collection, dialect) is KNOWN_TABLES[table_spec(collection, dialect)]
            )


def test_any_change_to_a_known_table_is_rendered_anew() -> None:
    users = next(c for c in initial_collections() if c.name == "users")
    renamed = replace(users, name="people")
    fields = [f if f.name != "name" else NumberField(name="name") for f in users.fields]
    retyped = replace(users, fields=fields)
    added = replace(users, fields=[*users.fields, BoolField(name="extra")])
    for changed, wanted in ((renamed, "people"), (retyped, "name NUMERIC"), (added, "extra")):
        sql = create_table(changed, "sqlite")
        assert table_spec(changed, "sqlite") not in KNOWN_TABLES
        assert wanted in sql
        assert sql == render_create_table(changed, "sqlite")
