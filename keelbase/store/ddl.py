"""DDL for record tables, rendered for the store's dialect with SQLAlchemy Core.

Column types follow PocketBase's (``TEXT DEFAULT '' NOT NULL`` and so on), so
a data folder's tables look the same to anyone who inspects them.
"""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect as SaDialect
from sqlalchemy.schema import CreateColumn, CreateTable

from keelbase.core.collection import Collection
from keelbase.core.fields import Field, Storage, TextField
from keelbase.core.indexes import parse_index


@lru_cache(maxsize=4)
def sa_dialect(name: str) -> SaDialect:
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.dialect()
    from sqlalchemy.dialects import sqlite

    return sqlite.dialect()


def postgresql_jsonb() -> sa.types.TypeEngine[object]:
    from sqlalchemy.dialects.postgresql import JSONB

    return JSONB()


def _sa_column(field: Field, dialect_name: str) -> sa.Column[object]:
    if isinstance(field, TextField) and field.primaryKey:
        default = (
            "('r'||lower(hex(randomblob(7))))"
            if dialect_name == "sqlite"
            else "('r' || substr(md5(random()::text), 1, 14))"
        )
        return sa.Column(field.name, sa.Text, primary_key=True, server_default=sa.text(default))
    kind = field.storage_kind
    json_type: sa.types.TypeEngine[object] = (
        postgresql_jsonb() if dialect_name == "postgresql" else sa.JSON()
    )
    if kind is Storage.NUMBER:
        return sa.Column(field.name, sa.Numeric, nullable=False, server_default=sa.text("0"))
    if kind is Storage.BOOL:
        return sa.Column(field.name, sa.Boolean, nullable=False, server_default=sa.false())
    if kind is Storage.JSON:
        return sa.Column(field.name, json_type, nullable=True)
    if kind is Storage.JSON_ARRAY:
        return sa.Column(field.name, json_type, nullable=False, server_default=sa.text("'[]'"))
    if kind is Storage.GEO:
        return sa.Column(
            field.name, json_type, nullable=False, server_default=sa.text('\'{"lon":0,"lat":0}\'')
        )
    return sa.Column(field.name, sa.Text, nullable=False, server_default=sa.text("''"))


def _table(
    collection: Collection, dialect_name: str, fields: list[Field] | None = None
) -> sa.Table:
    columns = [_sa_column(f, dialect_name) for f in (fields or collection.fields)]
    return sa.Table(collection.name, sa.MetaData(), *columns)


def create_table(collection: Collection, dialect_name: str) -> str:
    return str(
        CreateTable(_table(collection, dialect_name)).compile(dialect=sa_dialect(dialect_name))
    )


def column_definition(field: Field, dialect_name: str) -> str:
    table = sa.Table("_tmp", sa.MetaData(), _sa_column(field, dialect_name))
    column = table.c[field.name]
    return str(CreateColumn(column).compile(dialect=sa_dialect(dialect_name))).strip()


def index_statements(collection: Collection, quote_table: str) -> list[str]:
    """The collection's indexes, each rewritten to name the collection's own table."""
    out: list[str] = []
    for sql in collection.indexes:
        index = parse_index(sql)
        if index is None:
            continue
        head = "CREATE UNIQUE INDEX" if index.unique else "CREATE INDEX"
        statement = f'{head} "{index.name}" ON {quote_table} ({", ".join(index.columns)})'
        if index.where:
            statement += f" WHERE {index.where}"
        out.append(statement)
    return out
