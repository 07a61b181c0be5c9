"""Record tables' DDL, rendered as text, matches what SQLAlchemy Core rendered before
(the same types, defaults, nullability and keys; only every name is now quoted), and
both dialects accept it."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateColumn, CreateTable

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.json import collection_from_json
from keelbase.core.collections.system import initial_collections
from keelbase.core.fields import Field, Storage, TextField
from keelbase.store.ddl import column_definition, create_table

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


def _reference_column(field: Field, dialect: str) -> sa.Column[Any]:
    """The column as SQLAlchemy built it (keelbase/store/ddl.py before it rendered text)."""
    pg = dialect == "postgresql"
    text: sa.types.TypeEngine[Any] = sa.Text(collation="C") if pg else sa.Text()
    json: sa.types.TypeEngine[Any] = postgresql.JSONB() if pg else sa.JSON()
    if isinstance(field, TextField) and field.primaryKey:
        default = (
            "('r' || substr(md5(random()::text), 1, 14))"
            if pg
            else "('r'||lower(hex(randomblob(7))))"
        )
        return sa.Column(field.name, text, primary_key=True, server_default=sa.text(default))
    kind = field.storage_kind
    if kind is Storage.NUMBER:
        number = sa.Double() if pg else sa.Numeric()
        return sa.Column(field.name, number, nullable=False, server_default=sa.text("0"))
    if kind is Storage.BOOL:
        return sa.Column(field.name, sa.Boolean, nullable=False, server_default=sa.false())
    if kind is Storage.JSON:
        return sa.Column(field.name, json, nullable=True)
    if kind is Storage.JSON_ARRAY:
        return sa.Column(field.name, json, nullable=False, server_default=sa.text("'[]'"))
    if kind is Storage.GEO:
        geo = sa.text('\'{"lon"\\:0,"lat"\\:0}\'')
        return sa.Column(field.name, json, nullable=False, server_default=geo)
    return sa.Column(field.name, text, nullable=False, server_default=sa.text("''"))


def _reference_table(collection: Collection, dialect: str) -> str:
    columns = [_reference_column(f, dialect) for f in collection.fields]
    if dialect == "postgresql":
        columns.append(sa.Column("_rowid_", sa.BigInteger, sa.Identity(), nullable=False))
    table = sa.Table(collection.name, sa.MetaData(), *columns)
    sa_dialect = postgresql.dialect() if dialect == "postgresql" else sqlite.dialect()
    return str(CreateTable(table).compile(dialect=sa_dialect))


def _unquoted(sql: str) -> str:
    return sql.replace('"', "")


COLLECTIONS = [collection_from_json(EVERY_KIND), *initial_collections()]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize("collection", COLLECTIONS, ids=lambda c: c.name)
def test_tables_match_sqlalchemys_rendering(collection: Collection, dialect: str) -> None:
    assert _unquoted(create_table(collection, dialect)) == _unquoted(
        _reference_table(collection, dialect)
    )
    sa_dialect = postgresql.dialect() if dialect == "postgresql" else sqlite.dialect()
    for field in collection.fields:
        table = sa.Table("_tmp", sa.MetaData(), _reference_column(field, dialect))
        reference = str(CreateColumn(table.c[field.name]).compile(dialect=sa_dialect)).strip()
        assert _unquoted(column_definition(field, dialect)) == _unquoted(reference)


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
