"""Collections: list, view, create, update, delete, import and scaffolds.

Every change is one transaction: the DDL, the data migration and the
``_collections`` row. The in-memory schema is replaced only after the commit.
"""

from __future__ import annotations

import logging
import secrets
import string
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from keelbase.core.collections.collection import (
    AUTH,
    BASE,
    VIEW,
    Collection,
    auth_indexes,
    id_field,
)
from keelbase.core.collections.json import DefinitionError, collection_from_json
from keelbase.core.collections.schema import Schema
from keelbase.core.collections.system import initial_collections
from keelbase.core.collections.validation import validate_collection
from keelbase.core.collections.view_query import read_columns
from keelbase.core.dates import now_string
from keelbase.core.fields import Field, JsonField, NumberField, TextField
from keelbase.core.filter import FilterError, parse
from keelbase.core.filter.compiler import compile_filter
from keelbase.core.records.columns_resolver import ColumnsResolver
from keelbase.errors import ApiError, BadRequestError, NotFoundError, field_error, required_error
from keelbase.services.files.service import FilesService
from keelbase.services.records.listing import ListParams, invalid_query, page_result, parse_sort
from keelbase.store import system
from keelbase.store.base import Connection, IndexFailed, Store, StoreError
from keelbase.store.schema_sync import SchemaSync

_LIST_COLUMNS = {
    name: f'"{name}"'
    for name in (
        "id",
        "name",
        "type",
        "system",
        "listRule",
        "viewRule",
        "createRule",
        "updateRule",
        "deleteRule",
        "created",
        "updated",
    )
}

Listener = Callable[[Schema], None]
log = logging.getLogger("keelbase.collections")


def _load_error(
    message: str = "Failed to load the submitted data due to invalid formatting.",
) -> ApiError:
    return BadRequestError(message)


class CollectionsService:
    def __init__(self, store: Store, files: FilesService | None = None) -> None:
        self.store = store
        self.files = files
        self.schema = Schema()
        self._listeners: list[Listener] = []
        self._write_listeners: list[Callable[[], Awaitable[None]]] = []
        self._seen_version = -1

    def on_change(self, listener: Listener) -> None:
        """Call ``listener`` with each new schema (caches keyed on the old one drop it)."""
        self._listeners.append(listener)

    def on_write(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Call ``listener`` after this node changed collections (to tell the other nodes)."""
        self._write_listeners.append(listener)

    async def _written(self) -> None:
        await self.reload()
        for listener in self._write_listeners:
            await listener()

    def _publish(self, collections: list[Collection]) -> None:
        self.schema = self.schema.replaced(collections)
        for listener in self._listeners:
            listener(self.schema)

    # Start-up -------------------------------------------------------------

    async def bootstrap(self) -> None:
        """Create the system tables and collections of a new data folder, then load."""
        async with self.store.transaction() as conn:
            for statement in self.store.dialect.bootstrap_statements():
                await conn.execute(statement, heavy=True)
            count = await conn.fetch_value('SELECT COUNT(*) FROM "_collections"')
            if not count:
                now = now_string()
                for collection in initial_collections():
                    collection.created = collection.updated = now
                    await SchemaSync(conn, self.store.dialect).create(collection)
                    await system.insert_collection(conn, collection)
        await self.reload()

    async def reload(self) -> None:
        async with self.store.read() as conn:
            version = await system.schema_version(conn)
            collections = await system.load_collections(conn)
        self._seen_version = version
        self._publish(collections)

    async def reload_if_changed(self) -> bool:
        """Reload when another process changed the schema; cheap enough to call every second."""
        async with self.store.read() as conn:
            version = await system.schema_version(conn)
        if version == self._seen_version:
            return False
        await self.reload()
        return True

    # Reads ----------------------------------------------------------------

    def get(self, id_or_name: str) -> Collection:
        collection = self.schema.get(id_or_name)
        if collection is None:
            raise NotFoundError()
        return collection

    async def list_page(self, params: ListParams) -> dict[str, Any]:
        resolver = ColumnsResolver(self.store.dialect, _LIST_COLUMNS, kinds={"system": "bool"})
        where = "1=1"
        try:
            expr = parse(params.filter) if params.filter else None
            if expr is not None:
                where = compile_filter(expr, resolver)
            order: list[str] = []
            for name, direction in parse_sort(params.sort):
                if name == "@random":
                    order.append(self.store.dialect.random())
                elif name == "@rowid":
                    order.append(f'"_rowid_" {direction}')
                else:
                    try:
                        order.append(f"{resolver.resolve(name).sql} {direction}")
                    except FilterError as error:
                        raise invalid_query("sort", str(error)) from error
        except FilterError as error:
            raise invalid_query("filter", str(error)) from error
        order_sql = " ORDER BY " + ", ".join(order) if order else ' ORDER BY "_rowid_"'
        values = dict(resolver.params.values, limit=params.per_page, offset=params.offset)
        async with self.store.read() as conn:
            rows = await conn.fetch_all(
                f'SELECT "id" FROM "_collections" WHERE {where}{order_sql} LIMIT :limit OFFSET :offset',
                values,
            )
            total = None
            if not params.skip_total:
                total = await conn.fetch_value(
                    f'SELECT COUNT(*) FROM "_collections" WHERE {where}', resolver.params.values
                )
        items = [c.to_json() for row in rows if (c := self.schema.by_id(row["id"])) is not None]
        return page_result(items, params, total)

    def scaffolds(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ctype in (AUTH, BASE, VIEW):
            collection = collection_from_json({"name": "", "type": ctype})
            collection.id = ""
            if ctype == VIEW:
                collection.fields = []
            if ctype == AUTH:
                collection.indexes = auth_indexes(_random(10).lower(), "")
            out[ctype] = collection.to_json()
        return out

    # Writes ---------------------------------------------------------------

    async def create(self, data: Any) -> Collection:
        try:
            collection = collection_from_json(data)
        except DefinitionError as error:
            raise _definition_error(error, "Failed to create collection.") from error
        async with self.store.transaction() as conn:
            await self._lock_schema(conn)
            if not data.get("id"):
                self._free_default_id(collection)
            await self._save(conn, collection, None, "Failed to create collection.")
        await self._written()
        return self.get(collection.id)

    def _free_default_id(self, collection: Collection) -> None:
        """A derived id that is taken gets a numeric suffix, as PocketBase does."""
        base = collection.id
        for suffix in range(2, 1000):
            if self.schema.by_id(collection.id) is None:
                return
            collection.id = f"{base}{suffix}"

    async def update(self, id_or_name: str, data: Any) -> Collection:
        async with self.store.transaction() as conn:
            # The change applies to the collection as stored now, not as this node
            # last loaded it: another request's change a moment ago stays.
            await self._lock_schema(conn)
            existing = self.get(id_or_name)
            try:
                collection = collection_from_json(data, existing)
            except DefinitionError as error:
                raise _definition_error(error, "Failed to update collection.") from error
            broken = await self._save(conn, collection, existing, "Failed to update collection.")
        _report_broken_views(collection.name, broken)
        await self._written()
        return self.get(collection.id)

    async def _lock_schema(self, conn: Connection) -> None:
        """Take the schema lock for ``conn``'s transaction; load the schema if it moved on.

        Every schema change starts here: changes from several requests or nodes
        run one at a time, each on the collections as the previous one left them
        (another node's change may not have reached this node's copy yet).
        """
        version = await system.lock_schema_version(conn, self.store.dialect, now_string())
        if version != self._seen_version:
            collections = await system.load_collections(conn)
            self._seen_version = version
            self._publish(collections)

    async def _save(
        self, conn: Connection, collection: Collection, existing: Collection | None, message: str
    ) -> list[str]:
        """Validate and store one collection; returns the views it left broken (see
        ``_refresh_dependent_views``), for the caller to report once committed."""
        if collection.is_view:
            view_errors = await self._infer_view_fields(conn, collection, existing)
        else:
            view_errors = {}
        errors = validate_collection(collection, existing, self.schema, self.store.dialect)
        errors.update(view_errors)
        if errors:
            raise BadRequestError(message, errors)
        now = now_string()
        collection.updated = now
        if existing is None:
            collection.created = now
        sync = SchemaSync(conn, self.store.dialect)
        try:
            if existing is None:
                await sync.create(collection)
            else:
                await sync.update(existing, collection)
        except StoreError as error:
            raise _ddl_error(message, error) from error
        broken: list[str] = []
        if existing is None:
            await system.insert_collection(conn, collection)
        else:
            await system.update_collection(conn, collection)
            if existing.name != collection.name or _fields_changed(existing, collection):
                broken = await self._refresh_dependent_views(conn, collection)
        await system.bump_schema_version(conn, now)
        return broken

    async def _refresh_dependent_views(self, conn: Connection, changed: Collection) -> list[str]:
        """Views over a renamed table or column are recreated from their queries.

        A view whose query no longer works (it names the old table or column)
        keeps the view the database had, and is returned as ``"[name] error"``:
        as in PocketBase the change is saved and the view reported, so that
        its query can be fixed.
        """
        broken: list[str] = []
        for other in self.schema:
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

    async def _infer_view_fields(
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
        except StoreError:
            empty_ids = None
        if empty_ids is not None:
            return {
                "viewQuery": field_error(
                    "validation_invalid_view_query",
                    "Invalid query - the query could return records with empty or invalid ids.",
                )
            }
        collection.fields = self._view_fields(query, names, existing)
        collection.reindex()
        return {}

    def _view_fields(
        self, query: str, names: list[str], existing: Collection | None
    ) -> list[Field]:
        columns, tables = read_columns(query)
        by_name = {c.name: c for c in columns}
        previous = {f.name: f for f in existing.fields} if existing else {}
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
                source = self.schema.get(table_name) if table_name else None
                source_field = source.field(column.source_column) if source else None
                if source_field is not None:
                    field = source_field.model_copy(deep=True)
                    field.name = name
                    field.system = False
                    if isinstance(field, TextField):
                        field.primaryKey = False
                    old = previous.get(name)
                    field.id = old.id if old and old.type == field.type else "_clone_" + _random(4)
            if field is None:
                if column is not None and column.is_count:
                    field = NumberField(name=name, onlyInt=True)
                else:
                    field = JsonField(name=name, maxSize=1)
                field.id = f"{field.type}{_crc(name)}"
            fields.append(field)
        return fields

    async def delete(self, id_or_name: str) -> None:
        async with self.store.transaction() as conn:
            await self._lock_schema(conn)
            collection = self.get(id_or_name)
            if collection.system:
                raise BadRequestError("Failed to delete collection.")
            references = sorted(
                {
                    other.name
                    for other, _ in self.schema.referencing(collection)
                    if other.id != collection.id
                }
            )
            if references:
                raise BadRequestError(
                    f"Failed to delete collection probably due to existing reference in {', '.join(references)}."
                )
            try:
                await SchemaSync(conn, self.store.dialect).drop(collection)
                await system.delete_collection(conn, collection.id)
                await system.bump_schema_version(conn, now_string())
                await self._check_views_still_work(conn, collection)
                if self.files is not None and not collection.is_view:
                    self.files.remove_collection_files(conn, collection)
            except StoreError as error:
                raise BadRequestError("Failed to delete collection.") from error
        await self._written()

    async def _check_views_still_work(self, conn: Connection, removed: Collection) -> None:
        for other in self.schema:
            if other.is_view and other.id != removed.id:
                try:
                    await conn.fetch_columns(f'SELECT * FROM "{other.name}" LIMIT 0')
                except StoreError as error:
                    raise BadRequestError("Failed to delete collection.") from error

    async def import_collections(self, data: Any) -> None:
        """Create or replace many collections at once; all or nothing."""
        if not isinstance(data, dict) or not isinstance(data.get("collections", []), list):
            raise BadRequestError("An error occurred while loading the submitted data.")
        items = data.get("collections") or []
        if not items:
            raise BadRequestError(
                "An error occurred while validating the submitted data.",
                {"collections": required_error()},
            )
        delete_missing = bool(data.get("deleteMissing"))
        broken: dict[str, list[str]] = {}
        try:
            async with self.store.transaction() as conn:
                await self._lock_schema(conn)
                imported_ids: set[str] = set()
                for item in items:
                    if not isinstance(item, dict):
                        raise BadRequestError("An error occurred while loading the submitted data.")
                    existing = self.schema.get(str(item.get("id") or "")) or self.schema.get(
                        str(item.get("name") or "")
                    )
                    collection_id = str(item.get("id") or "")
                    try:
                        collection = collection_from_json(item, existing)
                        if existing is None and item.get("id"):
                            collection.id = str(item["id"])
                        elif existing is None:
                            self._free_default_id(collection)
                        collection_id = collection.id
                        broken[collection.name] = await self._save(
                            conn, collection, existing, "Failed to import collections."
                        )
                    except (DefinitionError, ApiError) as error:
                        raise _import_error(item, collection_id, error) from error
                    imported_ids.add(collection.id)
                    # Later items may refer to earlier ones.
                    async with self.store.read() as reader:
                        self.schema = self.schema.replaced(await system.load_collections(reader))
                if delete_missing:
                    for other in list(self.schema):
                        if other.id not in imported_ids and not other.system:
                            await SchemaSync(conn, self.store.dialect).drop(other)
                            await system.delete_collection(conn, other.id)
                            await system.bump_schema_version(conn, now_string())
            for name, views in broken.items():
                _report_broken_views(name, views)
        finally:
            await self._written()


def _definition_error(error: DefinitionError, message: str) -> ApiError:
    if error.errors:
        return BadRequestError(message, error.errors)
    return _load_error(
        error.message or "Failed to load the submitted data due to invalid formatting."
    )


def _import_error(item: dict[str, Any], collection_id: str, error: Exception) -> ApiError:
    data: Any = getattr(error, "data", None) or getattr(error, "errors", None) or {}
    name = item.get("name", "")
    detail = orjson.dumps(_flatten(data), option=orjson.OPT_INDENT_2).decode()
    return BadRequestError(
        "Failed to import collections.",
        {
            "collections": field_error(
                "validation_collections_import_failure",
                f'Data validations failed for collection "{name}" ({collection_id}):\n{detail}.',
            )
        },
    )


def _flatten(data: Any) -> Any:
    """PocketBase shows nested errors in import failures as their raw text only.

    Raw text is the message before it is turned into a sentence: lower-case first
    letter, no final dot ("cannot be blank"); rule errors keep their capital.
    """
    if isinstance(data, dict):
        if "code" in data and "message" in data:
            message = str(data["message"]).rstrip(".")
            if data["code"] == "validation_invalid_rule":
                return message
            return message[:1].lower() + message[1:]
        return {k: _flatten(v) for k, v in data.items()}
    return data


def _report_broken_views(changed: str, broken: list[str]) -> None:
    """Log the views a committed change left with a query that no longer works, in
    PocketBase's words (it logs the same warning and keeps the change)."""
    if broken:
        log.warning(
            "Dependent view collection(s) may need to be updated after %s collection change: %s",
            changed,
            "; ".join(broken),
        )


def _ddl_error(message: str, error: StoreError) -> ApiError:
    """A schema change the database refused, told as PocketBase tells it.

    An index that failed is named by its position, as ``indexes.N`` (PocketBase's
    createCollectionIndexes); anything else (e.g. a column a view still reads)
    has no field to blame and is given as PocketBase's "Raw error".
    """
    if isinstance(error, IndexFailed):
        return BadRequestError(
            message,
            {
                "indexes": {
                    str(error.position): field_error(
                        "validation_invalid_index_expression",
                        _sentence(f"Failed to create index {error.name} - {error.reason}"),
                    )
                }
            },
        )
    return BadRequestError(_sentence(f"{message} Raw error: \n{error}"))


def _sentence(text: str) -> str:
    """End with a full stop unless it already ends a sentence (PocketBase's Sentenize)."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _fields_changed(old: Collection, new: Collection) -> bool:
    return [(f.id, f.name) for f in old.fields] != [(f.id, f.name) for f in new.fields]


def _random(length: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def _crc(name: str) -> int:
    return zlib.crc32(name.encode())
