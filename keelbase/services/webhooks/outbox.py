"""The webhook tables: definitions, the outbox of deliveries, their attempts, the lease.

``_webhooks``: one row per webhook. ``_webhookDeliveries``: one row per message
to send, written in the transaction of the change it tells about (so it commits
or rolls back with it); ``state`` is ``pending`` until it is ``delivered`` or
``failed`` (its schedule ran out), ``nextAt`` (Unix ms) when it is due.
``_webhookAttempts``: one row per HTTP attempt. ``_webhookLease``: which node's
dispatcher sends, until when.
"""

from __future__ import annotations

import time
from typing import Any

from keelbase.store.base import Connection, Row, Store

SQLITE_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS "_webhooks" (
        "id"      TEXT PRIMARY KEY NOT NULL,
        "url"     TEXT NOT NULL,
        "events"  TEXT DEFAULT '[]' NOT NULL,
        "filter"  TEXT DEFAULT '' NOT NULL,
        "active"  INTEGER DEFAULT 1 NOT NULL,
        "secret"  TEXT NOT NULL,
        "created" TEXT DEFAULT '' NOT NULL,
        "updated" TEXT DEFAULT '' NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS "_webhookDeliveries" (
        "id"        TEXT PRIMARY KEY NOT NULL,
        "webhookId" TEXT NOT NULL,
        "type"      TEXT NOT NULL,
        "payload"   TEXT NOT NULL,
        "state"     TEXT DEFAULT 'pending' NOT NULL,
        "attempts"  INTEGER DEFAULT 0 NOT NULL,
        "nextAt"    BIGINT DEFAULT 0 NOT NULL,
        "created"   TEXT DEFAULT '' NOT NULL,
        "updated"   TEXT DEFAULT '' NOT NULL
    )""",
    'CREATE INDEX IF NOT EXISTS "idx_webhook_due" ON "_webhookDeliveries" ("state", "nextAt")',
    'CREATE INDEX IF NOT EXISTS "idx_webhook_log" ON "_webhookDeliveries" ("webhookId", "created")',
    """CREATE TABLE IF NOT EXISTS "_webhookAttempts" (
        "id"         TEXT PRIMARY KEY NOT NULL,
        "deliveryId" TEXT NOT NULL,
        "attempt"    INTEGER NOT NULL,
        "status"     INTEGER DEFAULT 0 NOT NULL,
        "durationMs" INTEGER DEFAULT 0 NOT NULL,
        "response"   TEXT DEFAULT '' NOT NULL,
        "error"      TEXT DEFAULT '' NOT NULL,
        "created"    TEXT DEFAULT '' NOT NULL
    )""",
    'CREATE INDEX IF NOT EXISTS "idx_webhook_attempts" ON "_webhookAttempts" ("deliveryId")',
    """CREATE TABLE IF NOT EXISTS "_webhookLease" (
        "name"    TEXT PRIMARY KEY NOT NULL,
        "holder"  TEXT DEFAULT '' NOT NULL,
        "expires" BIGINT DEFAULT 0 NOT NULL
    )""",
    """INSERT INTO "_webhookLease" ("name", "holder", "expires") VALUES ('dispatcher', '', 0)
        ON CONFLICT ("name") DO NOTHING""",
]
# Nodes starting at once on one PostgreSQL database take turns creating the tables.
POSTGRES_SCHEMA = ["SELECT pg_advisory_xact_lock(7017523596103186)", *SQLITE_SCHEMA]

WEBHOOK_COLUMNS = '"id", "url", "events", "filter", "active", "secret", "created", "updated"'


def now_ms() -> int:
    return int(time.time() * 1000)


async def create_tables(store: Store, schema: list[str]) -> None:
    async with store.transaction() as conn:
        for statement in schema:
            await conn.execute(statement, heavy=True)


async def active_webhooks(conn: Connection) -> list[Row]:
    return await conn.fetch_all(
        f'SELECT {WEBHOOK_COLUMNS} FROM "_webhooks" WHERE "active" = 1 ORDER BY "id"'
    )


async def enqueue(
    conn: Connection, delivery_id: str, webhook_id: str, kind: str, payload: str, now: str
) -> None:
    await conn.execute(
        'INSERT INTO "_webhookDeliveries" ("id", "webhookId", "type", "payload", "state", '
        '"attempts", "nextAt", "created", "updated") VALUES (:id, :webhook, :type, :payload, '
        "'pending', 0, :next, :now, :now)",
        {
            "id": delivery_id,
            "webhook": webhook_id,
            "type": kind,
            "payload": payload,
            "next": now_ms(),
            "now": now,
        },
    )


async def take_lease(store: Store, holder: str, seconds: float) -> bool:
    """Take or keep the dispatcher lease: True while this holder has it."""
    now = now_ms()
    async with store.transaction() as conn:
        taken = await conn.execute(
            'UPDATE "_webhookLease" SET "holder" = :holder, "expires" = :expires '
            'WHERE "name" = \'dispatcher\' AND ("holder" = :holder OR "expires" < :now)',
            {"holder": holder, "expires": now + int(seconds * 1000), "now": now},
        )
    return taken > 0


async def release_lease(store: Store, holder: str) -> None:
    async with store.transaction() as conn:
        await conn.execute(
            'UPDATE "_webhookLease" SET "holder" = \'\', "expires" = 0 '
            'WHERE "name" = \'dispatcher\' AND "holder" = :holder',
            {"holder": holder},
        )


async def due(store: Store, limit: int) -> list[Row]:
    """Pending deliveries of active webhooks whose time has come, oldest first."""
    async with store.read() as conn:
        return await conn.fetch_all(
            'SELECT d."id", d."webhookId", d."type", d."payload", d."attempts", d."nextAt", '
            'w."url", w."secret" FROM "_webhookDeliveries" d JOIN "_webhooks" w '
            'ON w."id" = d."webhookId" WHERE d."state" = \'pending\' AND d."nextAt" <= :now '
            'AND w."active" = 1 ORDER BY d."nextAt", d."id" LIMIT :limit',
            {"now": now_ms(), "limit": limit},
        )


async def next_due(store: Store) -> int | None:
    async with store.read() as conn:
        value = await conn.fetch_value(
            'SELECT MIN(d."nextAt") FROM "_webhookDeliveries" d JOIN "_webhooks" w '
            'ON w."id" = d."webhookId" WHERE d."state" = \'pending\' AND w."active" = 1'
        )
    return int(value) if value is not None else None


async def claim(store: Store, delivery_id: str, seen_next: int, hold_ms: int) -> bool:
    """Move a due delivery's ``nextAt`` past the send (a compare-and-set): of two
    dispatchers that both saw it, one sends; a crash mid-send lets it come due again."""
    async with store.transaction() as conn:
        return (
            await conn.execute(
                'UPDATE "_webhookDeliveries" SET "nextAt" = :hold WHERE "id" = :id '
                'AND "state" = \'pending\' AND "nextAt" = :seen',
                {"id": delivery_id, "seen": seen_next, "hold": now_ms() + hold_ms},
            )
            > 0
        )


def attempt_params(
    attempt_id: str,
    delivery_id: str,
    attempt: int,
    status: int,
    duration_ms: int,
    response: str,
    error: str,
    now: str,
) -> dict[str, Any]:
    return {
        "id": attempt_id,
        "delivery": delivery_id,
        "attempt": attempt,
        "status": status,
        "duration": duration_ms,
        "response": response,
        "error": error,
        "now": now,
    }


INSERT_ATTEMPT = (
    'INSERT INTO "_webhookAttempts" ("id", "deliveryId", "attempt", "status", "durationMs", '
    '"response", "error", "created") VALUES (:id, :delivery, :attempt, :status, :duration, '
    ":response, :error, :now)"
)


async def prune(store: Store, before: str) -> int:
    """Forget delivered and failed messages created before ``before`` (with their attempts)."""
    settled = (
        'SELECT "id" FROM "_webhookDeliveries" WHERE "state" IN (\'delivered\', \'failed\') '
        'AND "created" < :before'
    )
    async with store.transaction() as conn:
        await conn.execute(
            f'DELETE FROM "_webhookAttempts" WHERE "deliveryId" IN ({settled})', {"before": before}
        )
        return await conn.execute(
            f'DELETE FROM "_webhookDeliveries" WHERE "id" IN ({settled})', {"before": before}
        )
