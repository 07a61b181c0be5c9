"""Brings a collection's table in line with its definition, keeping the data.

Runs inside the caller's transaction, so a failed change leaves nothing half
done. Renames go through temporary names so that swapping two field names
works; a field moving between one value and many converts its data the way
PocketBase does (one value becomes a one-item list; a list keeps its last item).
"""

from __future__ import annotations

import secrets
import string

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.indexes import parse_index
from keelbase.core.collections.search import search_index_name
from keelbase.core.dialect import Dialect
from keelbase.core.fields import Field
from keelbase.store.base import Connection, IndexFailed, StoreError
from keelbase.store.ddl import column_definition, create_table, index_statements, rowid_index


def _suffix() -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))


class SchemaSync:
    def __init__(self, conn: Connection, dialect: Dialect) -> None:
        self.conn = conn
        self.dialect = dialect
        self.dialect_name = dialect.name  # "sqlite" or "postgresql", for the DDL (store/ddl.py)

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    async def create(self, collection: Collection) -> None:
        if collection.is_view:
            query = self.dialect.view_query(collection.viewQuery)
            await self.conn.execute(
                f"CREATE VIEW {self.quote(collection.name)} AS {query}", heavy=True
            )
            return
        await self.conn.execute(create_table(collection, self.dialect_name), heavy=True)
        for statement in self.dialect.row_count_statements(self.quote(collection.name)):
            await self.conn.execute(statement, heavy=True)
        await self.create_indexes(collection)
        await self.create_search_index(collection)

    async def create_search_index(self, collection: Collection) -> None:
        """The full-text index of the searchable fields (see docs/search.md), filled now."""
        if not collection.search:
            return
        index = search_index_name(collection)
        for sql in self.dialect.search_index_statements(collection.name, index, collection.search):
            await self.conn.execute(sql, heavy=True)

    async def drop_search_index(self, collection: Collection) -> None:
        if not collection.search:
            return
        index = search_index_name(collection)
        for sql in self.dialect.drop_search_index_statements(collection.name, index):
            await self.conn.execute(sql, heavy=True)

    async def upgrade(self, collections: list[Collection]) -> None:
        """Add what Keelbase itself keeps that tables of an older version lack: on
        PostgreSQL the ``_rowid_`` index (``IF NOT EXISTS``: a no-op once there) and the
        row-count triggers (counting the rows once, when they are new)."""
        for collection in collections:
            if collection.is_view:
                continue
            table = self.quote(collection.name)
            if self.dialect_name == "postgresql":
                await self.conn.execute(rowid_index(collection, table).sql, heavy=True)
            for statement in self.dialect.row_count_statements(table):
                await self.conn.execute(statement, heavy=True)

    async def create_indexes(self, collection: Collection) -> None:
        """Create the indexes in order; the first the database refuses is an ``IndexFailed``
        naming it (on PostgreSQL the transaction cannot go on to try the others)."""
        for index in index_statements(collection, self.quote(collection.name), self.dialect_name):
            try:
                await self.conn.execute(index.sql, heavy=True)
            except StoreError as error:
                if index.position is None:
                    raise
                raise IndexFailed(index.position, index.name, str(error)) from error

    async def drop_indexes(self, collection: Collection) -> None:
        for sql in collection.indexes:
            index = parse_index(sql)
            if index is not None:
                await self.conn.execute(
                    f"DROP INDEX IF EXISTS {self.quote(index.name)}", heavy=True
                )

    async def drop(self, collection: Collection) -> None:
        await self.drop_search_index(collection)
        kind = "VIEW" if collection.is_view else "TABLE"
        await self.conn.execute(f"DROP {kind} IF EXISTS {self.quote(collection.name)}", heavy=True)

    async def update(self, old: Collection, new: Collection) -> None:
        if new.is_view:
            await self.drop(old)
            await self.create(new)
            return
        await self.drop_indexes(old)
        # The full-text index names the table and its columns: rebuilt when either
        # changes, dropped first so that no trigger holds a column being renamed.
        search_moved = (old.name, old.search) != (new.name, new.search)
        if search_moved:
            await self.drop_search_index(old)
        table = self.quote(new.name)
        if old.name != new.name:
            await self.conn.execute(
                f"ALTER TABLE {self.quote(old.name)} RENAME TO {table}", heavy=True
            )
        old_by_id = {f.id: f for f in old.fields}
        new_ids = {f.id for f in new.fields}
        for field in old.fields:
            if field.id not in new_ids:
                await self.conn.execute(
                    f"ALTER TABLE {table} DROP COLUMN {self.quote(field.name)}", heavy=True
                )
        renames: list[tuple[str, str]] = []
        for field in new.fields:
            previous = old_by_id.get(field.id)
            temp = field.name + _suffix()
            if previous is None:
                await self._add_column(table, field, temp)
                renames.append((temp, field.name))
            elif previous.name != field.name:
                await self.conn.execute(
                    f"ALTER TABLE {table} RENAME COLUMN {self.quote(previous.name)} TO {self.quote(temp)}",
                    heavy=True,
                )
                renames.append((temp, field.name))
        for temp, final in renames:
            await self.conn.execute(
                f"ALTER TABLE {table} RENAME COLUMN {self.quote(temp)} TO {self.quote(final)}",
                heavy=True,
            )
        for field in new.fields:
            previous = old_by_id.get(field.id)
            if previous is not None and previous.multiple != field.multiple:
                await self._convert(table, field, to_multiple=field.multiple)
        await self.create_indexes(new)
        if search_moved:
            await self.create_search_index(new)
        if old.name != new.name:  # the kept row count names its table: counted anew
            for statement in self.dialect.row_count_statements(table):
                await self.conn.execute(statement, heavy=True)

    async def _add_column(self, table: str, field: Field, column: str) -> None:
        renamed = field.model_copy(update={"name": column})
        definition = column_definition(renamed, self.dialect_name)
        await self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {definition}", heavy=True)

    async def _convert(self, table: str, field: Field, to_multiple: bool) -> None:
        old_column = self.quote("_" + field.name + _suffix())
        column = self.quote(field.name)
        await self.conn.execute(
            f"ALTER TABLE {table} RENAME COLUMN {column} TO {old_column}", heavy=True
        )
        await self._add_column(table, field, field.name)
        if self.dialect_name == "postgresql":
            value = _pg_convert(old_column, to_multiple)
            await self.conn.execute(f"UPDATE {table} SET {column} = {value}", heavy=True)
            await self.conn.execute(f"ALTER TABLE {table} DROP COLUMN {old_column}", heavy=True)
            return
        is_array = f"json_valid({old_column}) AND json_type({old_column}) = 'array'"
        if to_multiple:
            value = (
                f"CASE WHEN COALESCE({old_column}, '') = '' THEN '[]' "
                f"ELSE (CASE WHEN {is_array} THEN {old_column} ELSE json_array({old_column}) END) END"
            )
        else:
            value = (
                f"CASE WHEN COALESCE({old_column}, '[]') = '[]' THEN '' "
                f"ELSE (CASE WHEN {is_array} THEN COALESCE(json_extract({old_column}, '$[#-1]'), '') "
                f"ELSE {old_column} END) END"
            )
        await self.conn.execute(f"UPDATE {table} SET {column} = {value}", heavy=True)
        await self.conn.execute(f"ALTER TABLE {table} DROP COLUMN {old_column}", heavy=True)


def _pg_convert(old: str, to_multiple: bool) -> str:
    """PostgreSQL's conversion between one value (text) and many (a jsonb list)."""
    if to_multiple:
        return (
            f"CASE WHEN COALESCE({old}, '') = '' THEN '[]'::jsonb "
            f"WHEN jsonb_typeof(kb_jsonb({old})) = 'array' THEN kb_jsonb({old}) "
            f"ELSE jsonb_build_array({old}) END"
        )
    return (
        f"CASE WHEN {old} IS NULL OR {old} = '[]'::jsonb THEN '' "
        f"WHEN jsonb_typeof({old}) = 'array' THEN COALESCE({old} ->> -1, '') "
        f"ELSE COALESCE(kb_text({old}), '') END"
    )
