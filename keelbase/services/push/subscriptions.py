"""The ``_pushSubscriptions`` table: one row per browser endpoint, owned by one auth record.

The endpoint is the browser's capability URL: whoever presents it (signed in)
owns it from then on, so subscribing again is idempotent and a browser that
signs in as someone else moves its row. Rows go when the push service answers
404/410 (the browser dropped the subscription) or when their owner is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

from keelbase.core.dates import now_string
from keelbase.core.ids import random_string
from keelbase.store.base import Store

TABLE = '"_pushSubscriptions"'

SQLITE_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS "_pushSubscriptions" (
        "id"           TEXT PRIMARY KEY NOT NULL,
        "endpoint"     TEXT NOT NULL UNIQUE,
        "p256dh"       TEXT NOT NULL,
        "auth"         TEXT NOT NULL,
        "collectionId" TEXT NOT NULL,
        "recordId"     TEXT NOT NULL,
        "created"      TEXT DEFAULT '' NOT NULL,
        "updated"      TEXT DEFAULT '' NOT NULL
    )""",
    'CREATE INDEX IF NOT EXISTS "idx_push_owner" ON "_pushSubscriptions" ("collectionId", "recordId")',
]
# Nodes starting at once on one PostgreSQL database take turns creating the table.
POSTGRES_SCHEMA = ["SELECT pg_advisory_xact_lock(7017523596103185)", *SQLITE_SCHEMA]


@dataclass(frozen=True)
class PushSubscription:
    endpoint: str
    p256dh: str
    auth: str
    collection_id: str = ""
    record_id: str = ""

    def info(self) -> dict[str, object]:
        """The browser's PushSubscription JSON, as pywebpush takes it."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class PushSubscriptions:
    def __init__(self, store: Store, schema: list[str]) -> None:
        self.store = store
        self._schema = schema

    async def create_table(self) -> None:
        async with self.store.transaction() as conn:
            for statement in self._schema:
                await conn.execute(statement, heavy=True)

    async def save(self, subscription: PushSubscription) -> bool:
        """Insert, or update the row of this endpoint (one atomic statement); True when new."""
        now = now_string()
        async with self.store.transaction() as conn:
            existed = await conn.fetch_value(
                f'SELECT COUNT(*) FROM {TABLE} WHERE "endpoint" = :endpoint',
                {"endpoint": subscription.endpoint},
            )
            await conn.execute(
                f'INSERT INTO {TABLE} ("id", "endpoint", "p256dh", "auth", "collectionId", '
                '"recordId", "created", "updated") VALUES (:id, :endpoint, :p256dh, :auth, '
                ':collection, :record, :now, :now) ON CONFLICT ("endpoint") DO UPDATE SET '
                '"p256dh" = excluded."p256dh", "auth" = excluded."auth", '
                '"collectionId" = excluded."collectionId", "recordId" = excluded."recordId", '
                '"updated" = excluded."updated"',
                {
                    "id": random_string(15),
                    "endpoint": subscription.endpoint,
                    "p256dh": subscription.p256dh,
                    "auth": subscription.auth,
                    "collection": subscription.collection_id,
                    "record": subscription.record_id,
                    "now": now,
                },
            )
        return not existed

    async def remove(self, endpoint: str, collection_id: str = "", record_id: str = "") -> bool:
        """Delete the endpoint's row (only the owner's when an owner is given); True when gone."""
        sql = f'DELETE FROM {TABLE} WHERE "endpoint" = :endpoint'
        params = {"endpoint": endpoint}
        if collection_id:
            sql += ' AND "collectionId" = :collection AND "recordId" = :record'
            params |= {"collection": collection_id, "record": record_id}
        async with self.store.transaction() as conn:
            return await conn.execute(sql, params) > 0

    async def remove_owner(self, collection_id: str, record_id: str) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                f'DELETE FROM {TABLE} WHERE "collectionId" = :collection AND "recordId" = :record',
                {"collection": collection_id, "record": record_id},
            )

    async def of_owners(self, owners: list[tuple[str, str]]) -> list[PushSubscription]:
        """Every subscription of these (collection id, record id) owners."""
        found: list[PushSubscription] = []
        async with self.store.read() as conn:
            # a bounded number of parameters per statement
            for start in range(0, len(owners), 200):
                chunk = owners[start : start + 200]
                params: dict[str, str] = {}
                conditions = []
                for i, (collection_id, record_id) in enumerate(chunk):
                    params[f"c{i}"], params[f"r{i}"] = collection_id, record_id
                    conditions.append(f'("collectionId" = :c{i} AND "recordId" = :r{i})')
                rows = await conn.fetch_all(
                    f'SELECT "endpoint", "p256dh", "auth", "collectionId", "recordId" FROM {TABLE} '
                    f'WHERE {" OR ".join(conditions)} ORDER BY "created"',
                    params,
                )
                found.extend(
                    PushSubscription(
                        str(r["endpoint"]),
                        str(r["p256dh"]),
                        str(r["auth"]),
                        str(r["collectionId"]),
                        str(r["recordId"]),
                    )
                    for r in rows
                )
        return found
