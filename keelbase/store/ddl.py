"""DDL for record tables, rendered for the store's dialect with SQLAlchemy Core.

Column types follow PocketBase's (``TEXT DEFAULT '' NOT NULL`` and so on), so
a data folder's tables look the same to anyone who inspects them.

SQLAlchemy is imported by the functions that render, not by this module: a
server restarting on an existing schema renders no table, and importing it
would cost a fifth of the time to the first answer. The system tables of a new
data folder are rendered too, but ahead of time: ``store/ddl_known.py`` holds
SQLAlchemy's output for them, written by ``write_known_tables()`` and
checked against a fresh rendering by ``tests/store/test_ddl.py``, so SQLAlchemy
stays the one source of the DDL and a first start need not import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.indexes import parse_index
from keelbase.core.fields import Field, RelationField, Storage, TextField
from keelbase.store.ddl_known import KNOWN_TABLES, TableSpec

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine.interfaces import Dialect as SaDialect


# Cached by dialect name alone, the whole answer: never stale, nothing invalidates it.
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
    import sqlalchemy as sa

    if dialect_name == "postgresql":
        return _pg_column(field)
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
            field.name,
            json_type,
            nullable=False,
            server_default=sa.text('\'{"lon"\\:0,"lat"\\:0}\''),
        )
    return sa.Column(field.name, sa.Text, nullable=False, server_default=sa.text("''"))


def _pg_column(field: Field) -> sa.Column[object]:
    import sqlalchemy as sa

    """PostgreSQL's types: text compares byte-wise (collation "C") as SQLite's does,
    numbers are double precision (SQLite's REAL), lists and JSON values are jsonb."""
    text = sa.Text(collation="C")
    if isinstance(field, TextField) and field.primaryKey:
        default = "('r' || substr(md5(random()::text), 1, 14))"
        return sa.Column(field.name, text, primary_key=True, server_default=sa.text(default))
    kind = field.storage_kind
    if kind is Storage.NUMBER:
        return sa.Column(field.name, sa.Double, nullable=False, server_default=sa.text("0"))
    if kind is Storage.BOOL:
        return sa.Column(field.name, sa.Boolean, nullable=False, server_default=sa.false())
    if kind is Storage.JSON:
        return sa.Column(field.name, postgresql_jsonb(), nullable=True)
    if kind is Storage.JSON_ARRAY:
        return sa.Column(
            field.name, postgresql_jsonb(), nullable=False, server_default=sa.text("'[]'")
        )
    if kind is Storage.GEO:
        return sa.Column(
            field.name,
            postgresql_jsonb(),
            nullable=False,
            server_default=sa.text('\'{"lon"\\:0,"lat"\\:0}\''),
        )
    return sa.Column(field.name, text, nullable=False, server_default=sa.text("''"))


def _table(
    collection: Collection, dialect_name: str, fields: list[Field] | None = None
) -> sa.Table:
    import sqlalchemy as sa

    columns = [_sa_column(f, dialect_name) for f in (fields or collection.fields)]
    if dialect_name == "postgresql":
        # SQLite's rowid: insertion order, for unsorted lists and @rowid
        columns.append(sa.Column("_rowid_", sa.BigInteger, sa.Identity(), nullable=False))
    return sa.Table(collection.name, sa.MetaData(), *columns)


def table_spec(collection: Collection, dialect_name: str) -> TableSpec:
    """All that ``create_table``'s answer depends on: the dialect, the table's name and
    each column's name and kind (``_sa_column`` reads nothing else of a field)."""
    columns = tuple(
        (
            f.name,
            "primary key" if isinstance(f, TextField) and f.primaryKey else f.storage_kind.value,
        )
        for f in collection.fields
    )
    return (dialect_name, collection.name, columns)


def create_table(collection: Collection, dialect_name: str) -> str:
    """The ``CREATE TABLE``: rendered ahead of time for a new folder's system tables."""
    known = KNOWN_TABLES.get(table_spec(collection, dialect_name))
    return known if known is not None else render_create_table(collection, dialect_name)


def render_create_table(collection: Collection, dialect_name: str) -> str:
    from sqlalchemy.schema import CreateTable

    return str(
        CreateTable(_table(collection, dialect_name)).compile(dialect=sa_dialect(dialect_name))
    )


def render_known_tables() -> dict[TableSpec, str]:
    """SQLAlchemy's DDL of a new data folder's tables on both dialects: ``ddl_known.py``."""
    from keelbase.core.collections.system import initial_collections

    return {
        table_spec(collection, dialect): render_create_table(collection, dialect)
        for dialect in ("sqlite", "postgresql")
        for collection in initial_collections()
    }


def write_known_tables(path: Path | None = None) -> None:
    """Write ``ddl_known.py`` (then ``ruff format`` it): after changing a system collection or
    the column types, ``python -c "from keelbase.store.ddl import write_known_tables as w; w()"``."""
    path = path or Path(__file__).with_name("ddl_known.py")
    head = path.read_text().partition(KNOWN_START)[0]  # the docstring and the type, kept
    lines = [f"    {spec!r}: {sql!r}," for spec, sql in render_known_tables().items()]
    path.write_text(head + KNOWN_START + "\n" + "\n".join(lines) + "\n}\n")


KNOWN_START = "KNOWN_TABLES: dict[TableSpec, str] = {"


def column_definition(field: Field, dialect_name: str) -> str:
    import sqlalchemy as sa
    from sqlalchemy.schema import CreateColumn

    table = sa.Table("_tmp", sa.MetaData(), _sa_column(field, dialect_name))
    column = table.c[field.name]
    return str(CreateColumn(column).compile(dialect=sa_dialect(dialect_name))).strip()


_BACKTICKED = re.compile(r"`([^`]*)`|\[([^\]]*)\]")
_NOCASE = re.compile(r'^\s*("[^"]+"|\w+)\s+COLLATE\s+NOCASE\s*(ASC|DESC)?\s*$', re.IGNORECASE)


_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\b\w+\b")


def _pg_index_text(text: str, names: set[str]) -> str:
    """SQLite's quoting (backticks, brackets) in PostgreSQL's double quotes; field names
    quoted too, as PostgreSQL folds bare names to lower case."""
    text = _BACKTICKED.sub(lambda m: '"' + (m.group(1) or m.group(2) or "") + '"', text)
    return _TOKEN.sub(lambda m: f'"{m.group(0)}"' if m.group(0) in names else m.group(0), text)


def _pg_index_column(column: str, names: set[str]) -> str:
    column = _pg_index_text(column, names)
    match = _NOCASE.match(column)
    if match:  # PostgreSQL has no NOCASE collation: index the lower-cased value
        return f"lower({match.group(1)}){' ' + match.group(2) if match.group(2) else ''}"
    return column


@dataclass(frozen=True)
class IndexStatement:
    """One ``CREATE INDEX``; ``position`` is its place in ``collection.indexes`` (``None``
    for the indexes Keelbase adds by itself)."""

    position: int | None
    name: str
    sql: str


def index_statements(
    collection: Collection, quote_table: str, dialect_name: str = "sqlite"
) -> list[IndexStatement]:
    """The collection's indexes, each rewritten to name the collection's own table."""
    out: list[IndexStatement] = []
    for position, sql in enumerate(collection.indexes):
        index = parse_index(sql)
        if index is None:
            continue
        head = "CREATE UNIQUE INDEX" if index.unique else "CREATE INDEX"
        columns = list(index.columns)
        where = index.where
        if dialect_name == "postgresql":
            names = {f.name for f in collection.fields}
            columns = [_pg_index_column(c, names) for c in columns]
            where = _pg_index_text(where, names)
        statement = f'{head} "{index.name}" ON {quote_table} ({", ".join(columns)})'
        if where:
            statement += f" WHERE {where}"
        out.append(IndexStatement(position, index.name, statement))
    if dialect_name == "postgresql" and not collection.is_view:
        out.append(rowid_index(collection, quote_table))
        for field in collection.fields:
            if isinstance(field, RelationField) and not field.multiple:
                name = f"_kb_{collection.id}_{field.id}"[:63]
                out.append(
                    IndexStatement(
                        None,
                        name,
                        f'CREATE INDEX IF NOT EXISTS "{name}" ON {quote_table} ("{field.name}")',
                    )
                )
    return out


def rowid_index(collection: Collection, quote_table: str) -> IndexStatement:
    """PostgreSQL's ``_rowid_``, indexed: a list without a sort is in insertion order, and
    without this index every such page sorts the whole table (SQLite's rowid is its b-tree)."""
    name = f"_kb_{collection.id}_rowid"[:63]
    sql = f'CREATE UNIQUE INDEX IF NOT EXISTS "{name}" ON {quote_table} ("_rowid_")'
    return IndexStatement(None, name, sql)
