"""The system tables: ``_collections`` (definitions) and ``_params`` (settings).

Their layout is PocketBase's, so a data folder stays readable with the same
tools. ``SCHEMA_VERSION`` counts our own migrations of these tables.
"""

from __future__ import annotations

from typing import Any

import orjson

from keelbase.core.collection import RULES, Collection
from keelbase.core.collection_json import collection_from_store
from keelbase.store.base import Connection

BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS "_collections" (
    "id"         TEXT PRIMARY KEY NOT NULL,
    "system"     BOOLEAN DEFAULT FALSE NOT NULL,
    "type"       TEXT DEFAULT 'base' NOT NULL,
    "name"       TEXT UNIQUE NOT NULL,
    "fields"     JSON DEFAULT '[]' NOT NULL,
    "indexes"    JSON DEFAULT '[]' NOT NULL,
    "listRule"   TEXT DEFAULT NULL,
    "viewRule"   TEXT DEFAULT NULL,
    "createRule" TEXT DEFAULT NULL,
    "updateRule" TEXT DEFAULT NULL,
    "deleteRule" TEXT DEFAULT NULL,
    "options"    JSON DEFAULT '{}' NOT NULL,
    "created"    TEXT DEFAULT '' NOT NULL,
    "updated"    TEXT DEFAULT '' NOT NULL
);
CREATE TABLE IF NOT EXISTS "_cron_leases" (
    "job"  TEXT NOT NULL,
    "tick" INTEGER NOT NULL,
    PRIMARY KEY ("job", "tick")
);
CREATE TABLE IF NOT EXISTS "_params" (
    "id"      TEXT PRIMARY KEY NOT NULL,
    "value"   JSON DEFAULT NULL,
    "created" TEXT DEFAULT '' NOT NULL,
    "updated" TEXT DEFAULT '' NOT NULL
);
"""

_COLUMNS = (
    "id",
    "system",
    "type",
    "name",
    "fields",
    "indexes",
    *RULES,
    "options",
    "created",
    "updated",
)


def _row(collection: Collection) -> dict[str, Any]:
    data = collection.to_json(with_secrets=True)
    options = {
        key: value
        for key, value in data.items()
        if key
        not in ("id", "name", "type", "system", "fields", "indexes", "created", "updated", *RULES)
    }
    row: dict[str, Any] = {
        "id": collection.id,
        "system": collection.system,
        "type": collection.type,
        "name": collection.name,
        "fields": orjson.dumps(data["fields"]).decode(),
        "indexes": orjson.dumps(collection.indexes).decode(),
        "options": orjson.dumps(options).decode(),
        "created": collection.created,
        "updated": collection.updated,
    }
    for rule in RULES:
        row[rule] = getattr(collection, rule)
    return row


async def load_collections(conn: Connection) -> list[Collection]:
    rows = await conn.fetch_all('SELECT * FROM "_collections" ORDER BY "_rowid_"')
    collections: list[Collection] = []
    for row in rows:
        data: dict[str, Any] = dict(row)
        data["fields"] = orjson.loads(row["fields"])
        data["indexes"] = orjson.loads(row["indexes"])
        data.update(orjson.loads(row["options"] or "{}"))
        collections.append(collection_from_store(data))
    return collections


async def insert_collection(conn: Connection, collection: Collection) -> None:
    row = _row(collection)
    columns = ", ".join(f'"{c}"' for c in _COLUMNS)
    values = ", ".join(f":{c}" for c in _COLUMNS)
    await conn.execute(f'INSERT INTO "_collections" ({columns}) VALUES ({values})', row)


async def update_collection(conn: Connection, collection: Collection) -> None:
    row = _row(collection)
    assignments = ", ".join(f'"{c}" = :{c}' for c in _COLUMNS if c != "id")
    await conn.execute(f'UPDATE "_collections" SET {assignments} WHERE "id" = :id', row)


async def delete_collection(conn: Connection, collection_id: str) -> None:
    await conn.execute('DELETE FROM "_collections" WHERE "id" = :id', {"id": collection_id})


async def get_param(conn: Connection, key: str) -> Any:
    raw = await conn.fetch_value('SELECT "value" FROM "_params" WHERE "id" = :id', {"id": key})
    if isinstance(raw, str | bytes):
        return orjson.loads(raw)
    return raw  # SQLite's JSON columns store a bare number as a number


async def set_param(conn: Connection, key: str, value: Any, now: str) -> None:
    await conn.execute(
        'INSERT INTO "_params" ("id", "value", "created", "updated") VALUES (:id, :value, :now, :now) '
        'ON CONFLICT ("id") DO UPDATE SET "value" = excluded."value", "updated" = excluded."updated"',
        {"id": key, "value": orjson.dumps(value).decode(), "now": now},
    )


SCHEMA_VERSION_KEY = "schema_version"


async def bump_schema_version(conn: Connection, now: str) -> None:
    """Count a schema change, in its own transaction, so every node can notice it."""
    current = await get_param(conn, SCHEMA_VERSION_KEY)
    await set_param(conn, SCHEMA_VERSION_KEY, int(current or 0) + 1, now)


async def schema_version(conn: Connection) -> int:
    return int(await get_param(conn, SCHEMA_VERSION_KEY) or 0)
