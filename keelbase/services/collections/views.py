"""View collections: their fields read from their query, and keeping them working.

A view's fields come from the columns its SELECT returns, each copied from the
source field it reads when there is one. A change to a collection a view reads
recreates the view; a view it breaks keeps what the database had and is
reported, as PocketBase does.
"""

from __future__ import annotations

import logging
import secrets
import string
import zlib
from collections.abc import Callable
from typing import Any

from keelbase.core.collections.collection import Collection, id_field
from keelbase.core.collections.schema import Schema
from keelbase.core.fields import Field, JsonField, NumberField, TextField
from keelbase.errors import BadRequestError, field_error, required_error
from keelbase.store.base import Connection, QueryTimeout, Store, StoreError
from keelbase.store.schema_sync import SchemaSync

log = logging.getLogger("keelbase.collections")


class Views:
    """The view collections of one store, against the current schema."""

    def __init__(self, store: Store, schema: Callable[[], Schema]) -> None:
        self.store = store
        self._schema = schema

    async def refresh_dependents(self, conn: Connection, changed: Collection) -> list[str]:
        """Views over a renamed table or column are recreated from their queries.

        A view whose query no longer works (it names the old table or column)
        keeps the view the database had, and is returned as ``"[name] error"``:
        as in PocketBase the change is saved and the view reported, so that
        its query can be fixed.
        """
        broken: list[str] = []
        for other in self._schema():
            if other.is_view and other.id != changed.id:
                sync = SchemaSync(conn, self.store.dialect)
                try:
                    # a savepoint: on PostgreSQL a failed statement spoils the whole transaction
                    async with self.store.transaction() as view_conn:
                        await sync.drop(other)
                        await sync.create(other)
                        # SQLite creates a view without resolving its names (and renames
                        # tables inside views itself): read it to know whether it works
                        await view_conn.fetch_columns(
                            f"SELECT * FROM {self.store.dialect.quote(other.name)} LIMIT 0"
                        )
                except StoreError as error:
                    broken.append(f"[{other.name}] {error}")
        return broken

    async def infer_fields(
        self, conn: Connection, collection: Collection, existing: Collection | None
    ) -> dict[str, Any]:
        query = collection.viewQuery.strip().rstrip(";")
        collection.viewQuery = query
        if not query:
            return {
                "fields": required_error(),
                "viewQuery": required_error(),
            }
        if not query.lower().startswith(("select", "with")) or ";" in query:
            return {
                "fields": required_error(),
                "viewQuery": field_error(
                    "validation_invalid_view_query",
                    "Invalid query - only SELECT queries are allowed.",
                ),
            }
        query = self.store.dialect.view_query(query)
        try:
            names = await conn.fetch_columns(f"SELECT * FROM ({query}) AS __kb_view LIMIT 0")
        except StoreError as error:
            return {
                "fields": required_error(),
                "viewQuery": field_error(
                    "validation_invalid_view_query", f"Invalid query - {error}."
                ),
            }
        if "id" not in names:
            return {
                "fields": field_error(
                    "validation_missing_primary_key", 'Missing or invalid "id" PK field.'
                ),
                "viewQuery": field_error(
                    "validation_invalid_view_query",
                    "Invalid query - missing required id column (you can use `(ROW_NUMBER() OVER()) as id` if you don't have one).",
                ),
            }
        try:
            async with self.store.transaction():  # a savepoint, as above
                empty_ids = await conn.fetch_value(
                    f"SELECT 1 FROM ({query}) AS __kb_view WHERE COALESCE(CAST(id AS TEXT), '') = '' LIMIT 1"
                )
        except QueryTimeout as error:
            # an endless query (a recursive CTE without an end) is refused, not saved
            return {
                "viewQuery": field_error(
                    "validation_invalid_view_query", f"Invalid query - {error}."
                )
            }
        except StoreError:
            empty_ids = None
        if empty_ids is not None:
            return {
                "viewQuery": field_error(
                    "validation_invalid_view_query",
                    "Invalid query - the query could return records with empty or invalid ids.",
                )
            }
        # A field keeps the id it had, or the one the definition gives it (a migration
        # replayed, an import): the same view then has the same field ids everywhere.
        previous = {f.name: f for f in existing.fields} if existing else {}
        previous.update({f.name: f for f in collection.fields if f.id})
        collection.fields = self._fields(query, names, previous)
        collection.reindex()
        return {}

    def _fields(self, query: str, names: list[str], previous: dict[str, Field]) -> list[Field]:
        # The view query reader is imported by the first view saved, not by every start.
        from keelbase.core.collections.view_query import read_columns

        columns, tables = read_columns(query)
        by_name = {c.name: c for c in columns}
        default_table = next(iter(tables.values()), None)
        fields: list[Field] = []
        for name in names:
            if name == "id":
                view_id = id_field()
                view_id.min = view_id.max = 0
                view_id.autogeneratePattern = ""
                fields.append(view_id)
                continue
            column = by_name.get(name)
            field: Field | None = None
            if column is not None and column.source_column:
                table_name = (
                    tables.get(column.source_table or "", default_table)
                    if column.source_table
                    else default_table
                )
                source = self._schema().get(table_name) if table_name else None
                source_field = source.field(column.source_column) if source else None
                if source_field is not None:
                    field = source_field.model_copy(deep=True)
                    field.name = name
                    field.system = False
                    if isinstance(field, TextField):
                        field.primaryKey = False
                    old = previous.get(name)
                    field.id = (
                        old.id if old and old.type == field.type else "_clone_" + random_text(4)
                    )
            if field is None:
                if column is not None and column.is_count:
                    field = NumberField(name=name, onlyInt=True)
                else:
                    field = JsonField(name=name, maxSize=1)
                field.id = f"{field.type}{_crc(name)}"
            fields.append(field)
        return fields

    async def check_still_work(self, conn: Connection, removed: Collection) -> None:
        for other in self._schema():
            if other.is_view and other.id != removed.id:
                try:
                    await conn.fetch_columns(f'SELECT * FROM "{other.name}" LIMIT 0')
                except StoreError as error:
                    raise BadRequestError("Failed to delete collection.") from error


def report_broken(changed: str, broken: list[str]) -> None:
    """Log the views a committed change left with a query that no longer works, in
    PocketBase's words (it logs the same warning and keeps the change)."""
    if broken:
        log.warning(
            "Dependent view collection(s) may need to be updated after %s collection change: %s",
            changed,
            "; ".join(broken),
        )


def random_text(length: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def _crc(name: str) -> int:
    return zlib.crc32(name.encode())
