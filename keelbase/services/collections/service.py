"""Collections: list, view, create, update, delete, import and scaffolds.

Every change is one transaction: the DDL, the data migration and the
``_collections`` row. A change inside a caller's transaction (a migration)
joins it: this node's schema follows the change at once, is loaded again if
the transaction rolls back, and other nodes hear of it only once it commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from keelbase.core.collections.collection import (
    AUTH,
    BASE,
    VIEW,
    Collection,
    auth_indexes,
)
from keelbase.core.collections.json import DefinitionError, collection_from_json
from keelbase.core.collections.schema import Schema
from keelbase.core.collections.system import initial_collections
from keelbase.core.collections.validation import validate_collection
from keelbase.core.dates import now_string
from keelbase.core.filter import FilterError, parse
from keelbase.core.filter.compiler import compile_filter
from keelbase.core.records.columns_resolver import ColumnsResolver
from keelbase.errors import ApiError, BadRequestError, NotFoundError, required_error
from keelbase.services.collections.changes import (
    CREATE,
    DELETE,
    IMPORT,
    UPDATE,
    ChangeListener,
    SchemaChange,
)
from keelbase.services.collections.errors import (
    ddl_error,
    definition_error,
    import_error,
)
from keelbase.services.collections.views import Views, random_text, report_broken
from keelbase.services.files.service import FilesService
from keelbase.services.records.listing import ListParams, invalid_query, page_result, parse_sort
from keelbase.services.settings import SettingsKeyError
from keelbase.store import system
from keelbase.store.base import Connection, Store, StoreError
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


class CollectionsService:
    def __init__(
        self, store: Store, files: FilesService | None = None, encryption_key: str = ""
    ) -> None:
        self.store = store
        self.files = files
        # ``--encryptionEnv``'s key: OAuth2 client secrets are stored encrypted with it.
        self.encryption_key = encryption_key
        self.schema = Schema()
        self._listeners: list[Listener] = []
        self._write_listeners: list[Callable[[], Awaitable[None]]] = []
        self._change_listeners: list[ChangeListener] = []
        self._seen_version = -1
        # Loads of the schema started, and the newest one published: a load that
        # started earlier but ended later (it read older data) is dropped.
        self._loads = 0
        self._loaded = 0
        # This node's changes whose transactions are still open: until they end,
        # loads from outside (the broker, the watcher) would read the schema
        # without them, so they wait; each change loads it when it ends.
        self._open_changes = 0
        # View collections' fields and their upkeep, against the current schema.
        self.views = Views(store, lambda: self.schema)

    def on_change(self, listener: Listener) -> None:
        """Call ``listener`` with each new schema (caches keyed on the old one drop it)."""
        self._listeners.append(listener)

    def on_write(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Call ``listener`` after this node changed collections (to tell the other nodes)."""
        self._write_listeners.append(listener)

    def on_saved(self, listener: ChangeListener) -> None:
        """Call ``listener`` with each change inside its transaction, before it commits."""
        self._change_listeners.append(listener)

    async def _changed(self, conn: Connection, change: SchemaChange) -> None:
        for listener in self._change_listeners:
            await listener(conn, change)

    def _follow(self, conn: Connection) -> None:
        """Tell the other nodes once ``conn``'s transaction commits; reload if it rolls back.

        Inside a caller's transaction the change is not committed when this
        service's own block ends, so the news waits for the real commit.
        Exactly one of the two callbacks runs (a savepoint rolled back runs its
        rollback callbacks and drops its commit ones).
        """
        self._open_changes += 1

        async def committed() -> None:
            self._open_changes -= 1
            for listener in self._write_listeners:
                await listener()

        async def rolled_back() -> None:
            self._open_changes -= 1
            await self._load()

        conn.on_commit(committed)
        conn.on_rollback(rolled_back)

    async def _stored(self, conn: Connection) -> list[Collection]:
        """The stored collections, their client secrets decrypted; a wrong or missing key
        is a ``SettingsKeyError``, as for the settings."""
        try:
            return await system.load_collections(conn, self.encryption_key)
        except system.SecretsLocked as error:
            raise SettingsKeyError(str(error)) from error

    @property
    def stored_version(self) -> int:
        """The stored schema version of the schema this node holds: counted up in the
        database by every collection change (any node's) and by a restore, so it names
        one schema for every node; ``Schema.version`` counts this node's reloads."""
        return self._seen_version

    def _ticket(self) -> int:
        self._loads += 1
        return self._loads

    def _publish(self, collections: list[Collection], version: int, ticket: int) -> None:
        if ticket < self._loaded:
            return
        self._loaded = ticket
        self._seen_version = version
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
                    await system.insert_collection(conn, collection, self.encryption_key)
            else:
                # Tables made by an older version lack what newer ones get (under the bootstrap lock).
                stored = await system.load_collections(conn)
                await SchemaSync(conn, self.store.dialect).upgrade(stored)
                if self.encryption_key:  # secrets stored before a key was given: encrypt them
                    for collection in filter(system.plain_secrets, stored):
                        await system.update_collection(conn, collection, self.encryption_key)
        await self._load()

    async def ensure(self, wanted: list[Collection]) -> list[str]:
        """Create the system collections of a feature that are not there yet; their names.

        Under the schema lock, so nodes turning the feature on at once create each
        one once. No ``on_saved`` listener hears it (automigrate writes no file):
        the feature itself creates them in every app where it is turned on.
        """
        if all(self.schema.get(c.name) is not None for c in wanted):
            return []
        created: list[str] = []
        async with self.store.transaction() as conn:
            self._follow(conn)
            await self.lock_schema(conn)
            for collection in wanted:
                if self.schema.get(collection.name) is None:
                    await self._save(conn, collection, None, "Failed to create collection.")
                    self.schema = self.schema.replaced([*self.schema, collection])
                    created.append(collection.name)
        await self._load()
        return created

    async def reload(self) -> None:
        """Load the schema again (another node changed it), unless a change of this
        node is under way: that one loads it when its transaction ends."""
        if not self._open_changes:
            await self._load()

    async def _load(self) -> None:
        """Load the schema as this task's connection sees it (inside a transaction: with
        its uncommitted changes)."""
        ticket = self._ticket()
        async with self.store.read() as conn:
            version = await system.schema_version(conn)
            collections = await self._stored(conn)
        self._publish(collections, version, ticket)

    async def reload_if_changed(self) -> bool:
        """Reload when another process changed the schema; cheap enough to call every second."""
        if self._open_changes:
            return False
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
                collection.indexes = auth_indexes(random_text(10).lower(), "")
            out[ctype] = collection.to_json()
        return out

    # Writes ---------------------------------------------------------------

    async def create(self, data: Any) -> Collection:
        try:
            collection = collection_from_json(data)
        except DefinitionError as error:
            raise definition_error(error, "Failed to create collection.") from error
        async with self.store.transaction() as conn:
            self._follow(conn)
            await self.lock_schema(conn)
            if not data.get("id"):
                self._free_default_id(collection)
            await self._save(conn, collection, None, "Failed to create collection.")
            await self._changed(conn, SchemaChange(CREATE, [], [collection]))
        await self._load()
        return self.get(collection.id)

    async def sample_view(self, query: str, size: int) -> tuple[Collection, list[dict[str, Any]]]:
        """A view collection that is never saved, from ``query``, and its first rows.

        What ``/api/collections/meta/dry-run-view`` shows before a view is created:
        the same checks and fields as creating it, inside a transaction that
        writes nothing.
        """
        collection = collection_from_json({"name": "temp_view_" + random_text(5), "type": "view"})
        collection.viewQuery = query
        async with self.store.transaction() as conn:
            errors = await self.views.infer_fields(conn, collection, None)
            if errors:
                problem = errors.get("viewQuery") or errors.get("fields") or {}
                raise BadRequestError(
                    "Invalid view query. Raw error: \n" + str(problem.get("message", ""))
                )
            inner = self.store.dialect.view_query(collection.viewQuery)
            try:
                rows = await conn.fetch_all(
                    f"SELECT * FROM (SELECT * FROM ({inner}) AS __kb_inner) AS __kb_view "
                    f"LIMIT {int(size)}"
                )
            except StoreError as error:
                raise BadRequestError(f"Invalid view query. Raw error: \n{error}") from error
        return collection, rows

    def _free_default_id(self, collection: Collection) -> None:
        """A derived id that is taken gets a numeric suffix, as PocketBase does."""
        base = collection.id
        for suffix in range(2, 1000):
            if self.schema.by_id(collection.id) is None:
                return
            collection.id = f"{base}{suffix}"

    async def update(self, id_or_name: str, data: Any) -> Collection:
        async with self.store.transaction() as conn:
            self._follow(conn)
            # The change applies to the collection as stored now, not as this node
            # last loaded it: another request's change a moment ago stays.
            await self.lock_schema(conn)
            existing = self.get(id_or_name)
            try:
                collection = collection_from_json(data, existing)
            except DefinitionError as error:
                raise definition_error(error, "Failed to update collection.") from error
            broken = await self._save(conn, collection, existing, "Failed to update collection.")
            await self._changed(conn, SchemaChange(UPDATE, [existing], [collection]))
        report_broken(collection.name, broken)
        await self._load()
        return self.get(collection.id)

    async def lock_schema(self, conn: Connection) -> None:
        """Take the schema lock for ``conn``'s transaction; load the schema if it moved on.

        Every schema change starts here: changes from several requests or nodes
        run one at a time, each on the collections as the previous one left them
        (another node's change may not have reached this node's copy yet).
        """
        version = await system.lock_schema_version(conn, self.store.dialect, now_string())
        # Under the lock this read is the newest there is: its ticket is taken now.
        ticket = self._ticket()
        if version != self._seen_version:
            self._publish(await self._stored(conn), version, ticket)

    async def _save(
        self, conn: Connection, collection: Collection, existing: Collection | None, message: str
    ) -> list[str]:
        """Validate and store one collection; returns the views it left broken (see
        ``_refresh_dependent_views``), for the caller to report once committed."""
        if collection.is_view:
            view_errors = await self.views.infer_fields(conn, collection, existing)
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
            raise ddl_error(message, error) from error
        broken: list[str] = []
        if existing is None:
            await system.insert_collection(conn, collection, self.encryption_key)
        else:
            await system.update_collection(conn, collection, self.encryption_key)
            if existing.name != collection.name or _fields_changed(existing, collection):
                broken = await self.views.refresh_dependents(conn, collection)
        await system.bump_schema_version(conn, now)
        return broken

    async def delete(self, id_or_name: str) -> None:
        async with self.store.transaction() as conn:
            self._follow(conn)
            await self.lock_schema(conn)
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
                await self.views.check_still_work(conn, collection)
                if self.files is not None and not collection.is_view:
                    self.files.remove_collection_files(conn, collection)
            except StoreError as error:
                raise BadRequestError("Failed to delete collection.") from error
            await self._changed(conn, SchemaChange(DELETE, [collection], []))
        await self._load()

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
        change = SchemaChange(IMPORT)
        try:
            async with self.store.transaction() as conn:
                self._follow(conn)
                await self.lock_schema(conn)
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
                        raise import_error(item, collection_id, error) from error
                    imported_ids.add(collection.id)
                    if existing is not None and existing.id not in {c.id for c in change.before}:
                        change.before.append(existing)
                    change.after = [c for c in change.after if c.id != collection.id]
                    change.after.append(collection)
                    # Later items may refer to earlier ones.
                    async with self.store.read() as reader:
                        self.schema = self.schema.replaced(await self._stored(reader))
                if delete_missing:
                    for other in list(self.schema):
                        if other.id not in imported_ids and not other.system:
                            await SchemaSync(conn, self.store.dialect).drop(other)
                            await system.delete_collection(conn, other.id)
                            await system.bump_schema_version(conn, now_string())
                            change.before.append(other)
                await self._changed(conn, change)
            for name, views in broken.items():
                report_broken(name, views)
        finally:
            await self._load()


def _fields_changed(old: Collection, new: Collection) -> bool:
    return [(f.id, f.name) for f in old.fields] != [(f.id, f.name) for f in new.fields]
