"""Webhooks: their definitions (superusers only), the outbox writes, custom events.

A record event becomes a delivery row in the transaction of the write itself
(``RecordsService.on_written``), one per active webhook that names the
collection and action and whose ``filter`` the record passes; hook code emits
custom events with ``app.webhooks.emit(name, payload)``. The ``Dispatcher``
sends them. The payload::

    {"type": "record.create", "timestamp": "2026-...Z",
     "data": {"collection": "posts", "collectionId": "...", "record": {...}}}

``record`` is the record as the API shows it to a superuser (as it was, for a
delete). Custom events: ``{"type": name, "timestamp": ..., "data": payload}``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from keelbase.core.collections.collection import Collection
from keelbase.core.dates import format_datetime, now, now_string
from keelbase.core.ids import random_string
from keelbase.core.records.record import Record
from keelbase.core.request_info import SYSTEM
from keelbase.errors import ApiError, BadRequestError, NotFoundError, field_error, required_error
from keelbase.services.records.query import RecordQuery
from keelbase.services.records.service import RecordsService
from keelbase.services.webhooks import outbox, signing, ssrf
from keelbase.services.webhooks.dispatcher import Dispatcher
from keelbase.store.base import Connection, Row, StoreError

log = logging.getLogger("keelbase.webhooks")

ACTIONS = ("create", "update", "delete")
CUSTOM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}$")
# What a webhook lists: ``posts.create`` (or ``posts.*``) or a custom event's name.
EVENT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,97}(\.\*)?$")
MAX_EVENTS = 100
MAX_FILTER = 4096
MSG_INVALID = "Failed to save the webhook."
KEEP_LOG = timedelta(days=7)  # delivered and failed messages are forgotten after this
Alert = Callable[[str, str], Awaitable[None]]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_scale() -> float:
    try:
        scale = float(os.environ.get("KEELBASE_WEBHOOKS_RETRY_SCALE", "1") or "1")
    except ValueError:
        return 1.0
    return scale if scale >= 0 else 1.0


class WebhooksService:
    def __init__(self, records: RecordsService, schema: list[str], alert: Alert) -> None:
        self.records = records
        self.store = records.store
        self._schema = schema
        self._alert = alert
        self._ready = False
        self.dispatcher = Dispatcher(
            self.store,
            self._exhausted,
            retry_scale=_env_scale(),
            allow_private=lambda: self.allow_private,
            prune=self.prune,
        )
        records.on_written(self._written)

    @property
    def allow_private(self) -> bool:
        return _env_flag("KEELBASE_WEBHOOKS_ALLOW_PRIVATE")

    async def create_tables(self) -> None:
        """Before anything writes records (migrations included): the outbox must exist."""
        await outbox.create_tables(self.store, self._schema)
        self._ready = True

    def start(self) -> None:
        self.dispatcher.start()

    async def stop(self) -> None:
        await self.dispatcher.stop()

    # Definitions --------------------------------------------------------------

    async def all(self) -> list[dict[str, Any]]:
        async with self.store.read() as conn:
            rows = await conn.fetch_all(
                f'SELECT {outbox.WEBHOOK_COLUMNS} FROM "_webhooks" ORDER BY "created", "id"'
            )
        return [_public(row) for row in rows]

    async def get(self, webhook_id: str) -> dict[str, Any]:
        return _public(await self._row(webhook_id))

    async def _row(self, webhook_id: str) -> Row:
        async with self.store.read() as conn:
            row = await conn.fetch_one(
                f'SELECT {outbox.WEBHOOK_COLUMNS} FROM "_webhooks" WHERE "id" = :id',
                {"id": webhook_id},
            )
        if row is None:
            raise NotFoundError("The requested webhook wasn't found.")
        return row

    async def create(self, body: Any) -> dict[str, Any]:
        """Save a new webhook; the answer holds its secret (the only time it is shown)."""
        values = await self._validated(body if isinstance(body, dict) else {}, None)
        now = now_string()
        values.update(id=random_string(15), created=now, updated=now)
        values.setdefault("secret", signing.new_secret())
        async with self.store.transaction() as conn:
            await conn.execute(
                'INSERT INTO "_webhooks" ("id", "url", "events", "filter", "active", "secret", '
                '"created", "updated") VALUES (:id, :url, :events, :filter, :active, :secret, '
                ":created, :updated)",
                values,
            )
        shown = _public(values)
        shown["secret"] = values["secret"]
        return shown

    async def update(self, webhook_id: str, body: Any) -> dict[str, Any]:
        existing = await self._row(webhook_id)
        values = await self._validated(body if isinstance(body, dict) else {}, existing)
        values.update(id=webhook_id, updated=now_string())
        assignments = ", ".join(f'"{k}" = :{k}' for k in values if k != "id")
        async with self.store.transaction() as conn:
            await conn.execute(f'UPDATE "_webhooks" SET {assignments} WHERE "id" = :id', values)
        if values.get("active"):
            self.dispatcher.wake()  # deliveries held while it was off are due again
        return await self.get(webhook_id)

    async def delete(self, webhook_id: str) -> None:
        await self._row(webhook_id)
        async with self.store.transaction() as conn:
            await conn.execute(
                'DELETE FROM "_webhookAttempts" WHERE "deliveryId" IN '
                '(SELECT "id" FROM "_webhookDeliveries" WHERE "webhookId" = :id)',
                {"id": webhook_id},
            )
            await conn.execute(
                'DELETE FROM "_webhookDeliveries" WHERE "webhookId" = :id', {"id": webhook_id}
            )
            await conn.execute('DELETE FROM "_webhooks" WHERE "id" = :id', {"id": webhook_id})

    async def _validated(self, body: dict[str, Any], existing: Row | None) -> dict[str, Any]:
        """The columns a create or update body sets; a 400 naming each bad field."""
        errors: dict[str, Any] = {}
        values: dict[str, Any] = {}
        new = existing is None
        if new or "url" in body:
            url = body.get("url")
            url_problem = ssrf.url_problem(url)
            if url_problem:
                errors["url"] = (
                    required_error() if url_problem == "Cannot be blank."
                    else field_error("validation_invalid_url", url_problem)
                )  # fmt: skip
            else:
                values["url"] = url
        if new or "events" in body:
            events, problem = self._events(body.get("events"))
            if problem:
                errors["events"] = problem
            else:
                values["events"] = orjson.dumps(events).decode()
        if new or "filter" in body:
            text = body.get("filter") or ""
            if not isinstance(text, str) or len(text) > MAX_FILTER or "\x00" in text:
                errors["filter"] = field_error("validation_invalid_filter", "Must be a filter.")
            else:
                values["filter"] = text
        if new or "active" in body:
            active = body.get("active", True)
            if not isinstance(active, bool):
                errors["active"] = field_error("validation_invalid_bool", "Must be true or false.")
            else:
                values["active"] = 1 if active else 0
        if "secret" in body:
            secret = body.get("secret")
            if not isinstance(secret, str) or signing.secret_key(secret) is None:
                errors["secret"] = field_error(
                    "validation_invalid_secret", "Must be whsec_ and the base64 of 24 to 64 bytes."
                )
            else:
                values["secret"] = secret
        if "filter" not in errors and "events" not in errors:
            events_text = values.get("events") or (existing or {}).get("events") or "[]"
            filter_text = values.get("filter", (existing or {}).get("filter", ""))
            filter_problem = await self._filter_problem(str(filter_text), orjson.loads(events_text))
            if filter_problem:
                errors["filter"] = field_error("validation_invalid_filter", filter_problem)
        if "url" in values and not errors and not self.allow_private:
            try:
                await ssrf.resolve(values["url"], False)
            except ssrf.Refused:
                errors["url"] = field_error(
                    "validation_url_not_public",
                    "The URL must resolve to public addresses only.",
                )
        if errors:
            raise BadRequestError(MSG_INVALID, errors)
        return values

    def _events(self, value: Any) -> tuple[list[str], dict[str, Any] | None]:
        if not isinstance(value, list) or not value:
            return [], required_error()
        if len(value) > MAX_EVENTS:
            return [], field_error("validation_invalid_events", f"At most {MAX_EVENTS} events.")
        events: list[str] = []
        for item in value:
            if not isinstance(item, str) or not EVENT_NAME.match(item):
                return [], field_error(
                    "validation_invalid_events",
                    "Each event is collection.create, .update, .delete or a custom name.",
                )
            name, _, action = item.rpartition(".")
            if action in (*ACTIONS, "*") and self.records.schema.get(name) is None:
                return [], field_error(
                    "validation_missing_collection", f"No collection named {name!r}."
                )
            if item not in events:
                events.append(item)
        return events, None

    async def _filter_problem(self, text: str, events: list[str]) -> str | None:
        """Why ``text`` cannot filter the collections ``events`` name. It is parsed, then
        run once against an empty record, so the store's own checks (PostgreSQL's types)
        speak now rather than at a write."""
        if not text.strip():
            return None
        collections = self._collections_of(events)
        if not collections:
            return "A filter needs at least one record event (collection.create, ...)."
        for collection in collections:
            try:
                RecordQuery(self.store, self.records.schema, collection, SYSTEM).add_client_filter(
                    text, search=False
                )
                async with self.store.transaction() as conn:
                    await self.records.record_matches(
                        Record(collection, {}), None, SYSTEM, text, conn
                    )
            except ApiError as error:
                detail = error.data.get("filter") if isinstance(error.data, dict) else None
                message = detail.get("message") if isinstance(detail, dict) else None
                return f"Invalid filter for {collection.name}: {message or error.message}"
            except StoreError as error:
                return f"Invalid filter for {collection.name}: {type(error).__name__}"
        return None

    def _collections_of(self, events: list[str]) -> list[Collection]:
        found: dict[str, Collection] = {}
        for event in events:
            name, _, action = event.rpartition(".")
            collection = self.records.schema.get(name) if action in (*ACTIONS, "*") else None
            if collection is not None:
                found[collection.id] = collection
        return list(found.values())

    # Events -------------------------------------------------------------------

    async def _written(
        self,
        conn: Connection,
        collection: Collection,
        record_id: str,
        action: str,
        record: Record | None,
    ) -> None:
        if not self._ready or record is None or action not in ACTIONS:
            return
        hooks = await outbox.active_webhooks(conn)
        if not hooks:
            return
        names = {collection.name.lower(), collection.id}
        payload: str | None = None
        now = now_string()
        for hook in hooks:
            if not _names(hook, names, action):
                continue
            if hook["filter"] and not await self._passes(record, str(hook["filter"]), hook):
                continue
            if payload is None:
                payload = _body(
                    f"record.{action}",
                    {
                        "collection": collection.name,
                        "collectionId": collection.id,
                        "record": self.records.codec.export(record, SYSTEM),
                    },
                )
            await outbox.enqueue(
                conn, _message_id(), str(hook["id"]), f"record.{action}", payload, now
            )
        if payload is not None:
            conn.on_commit(self.dispatcher.wake)

    async def _passes(self, record: Record, text: str, hook: Row) -> bool:
        """Whether the record passes a webhook's filter. In a savepoint: a filter that no
        longer fits the collection (a field since removed) must not fail the write; the
        message is then sent unfiltered, and the error logged."""
        try:
            async with self.store.transaction() as conn:
                return await self.records.record_matches(record, None, SYSTEM, text, conn)
        except (ApiError, StoreError):
            log.exception("webhook %s: its filter failed; sent unfiltered", hook["id"])
            return True

    async def emit(self, name: str, payload: Any = None, conn: Connection | None = None) -> int:
        """Queue a custom event for the active webhooks that list ``name``; how many.

        With ``conn`` (a hook's transaction) it commits or rolls back with it.
        """
        if not CUSTOM_NAME.match(name):
            raise ValueError("an event name is letters, digits and _ . : - (at most 100)")
        body = _body(name, payload)
        if conn is not None:
            return await self._emit_in(conn, name, body)
        async with self.store.transaction() as own:
            return await self._emit_in(own, name, body)

    async def _emit_in(self, conn: Connection, name: str, body: str) -> int:
        count = 0
        now = now_string()
        for hook in await outbox.active_webhooks(conn):
            if name in orjson.loads(hook["events"]):
                await outbox.enqueue(conn, _message_id(), str(hook["id"]), name, body, now)
                count += 1
        if count:
            conn.on_commit(self.dispatcher.wake)
        return count

    # Delivery log -------------------------------------------------------------

    async def deliveries(self, webhook_id: str, page: int, per_page: int) -> dict[str, Any]:
        await self._row(webhook_id)
        async with self.store.read() as conn:
            total = int(
                await conn.fetch_value(
                    'SELECT COUNT(*) FROM "_webhookDeliveries" WHERE "webhookId" = :id',
                    {"id": webhook_id},
                )
            )
            rows = await conn.fetch_all(
                'SELECT "id", "webhookId", "type", "payload", "state", "attempts", "nextAt", '
                '"created", "updated" FROM "_webhookDeliveries" WHERE "webhookId" = :id '
                'ORDER BY "created" DESC, "id" DESC LIMIT :limit OFFSET :offset',
                {"id": webhook_id, "limit": per_page, "offset": (page - 1) * per_page},
            )
            attempts: dict[str, list[dict[str, Any]]] = {str(r["id"]): [] for r in rows}
            if rows:
                keys = {f"d{i}": r["id"] for i, r in enumerate(rows)}
                found = await conn.fetch_all(
                    'SELECT "deliveryId", "attempt", "status", "durationMs", "response", "error", '
                    f'"created" FROM "_webhookAttempts" WHERE "deliveryId" IN '
                    f'({", ".join(":" + k for k in keys)}) ORDER BY "attempt"',
                    keys,
                )
                for a in found:
                    attempts[str(a["deliveryId"])].append(
                        {
                            "attempt": int(a["attempt"]),
                            "status": int(a["status"]),
                            "durationMs": int(a["durationMs"]),
                            "response": a["response"],
                            "error": a["error"],
                            "created": a["created"],
                        }
                    )
        items = [_delivery(r, attempts[str(r["id"])]) for r in rows]
        return {
            "page": page,
            "perPage": per_page,
            "totalItems": total,
            "totalPages": (total + per_page - 1) // per_page,
            "items": items,
        }

    async def replay(self, webhook_id: str, delivery_id: str) -> dict[str, Any]:
        """Send a past delivery's payload again, as a new delivery (its own ``webhook-id``)."""
        await self._row(webhook_id)
        async with self.store.transaction() as conn:
            row = await conn.fetch_one(
                'SELECT "type", "payload" FROM "_webhookDeliveries" '
                'WHERE "id" = :id AND "webhookId" = :webhook',
                {"id": delivery_id, "webhook": webhook_id},
            )
            if row is None:
                raise NotFoundError("The requested delivery wasn't found.")
            new_id = _message_id()
            await outbox.enqueue(
                conn, new_id, webhook_id, str(row["type"]), str(row["payload"]), now_string()
            )
            conn.on_commit(self.dispatcher.wake)
        return {"id": new_id, "webhookId": webhook_id, "type": row["type"], "state": "pending"}

    async def prune(self) -> int:
        """Forget settled messages older than 7 days (the dispatcher calls it hourly)."""
        return await outbox.prune(self.store, format_datetime(now() - KEEP_LOG))

    async def _exhausted(self, webhook_id: str, url: str) -> None:
        await self._alert(
            "Webhook disabled",
            f"The webhook {webhook_id} ({url}) failed every attempt of a delivery and was "
            "switched off. Its delivery log (GET /api/webhooks/"
            f"{webhook_id}/deliveries) tells why; set it active again once the receiver is fixed.",
        )


def _names(hook: Row, names: set[str], action: str) -> bool:
    for event in orjson.loads(hook["events"]):
        name, _, wanted = str(event).rpartition(".")
        if wanted in (action, "*") and (name.lower() in names or name in names):
            return True
    return False


def _message_id() -> str:
    return "msg_" + random_string(24)


def _body(kind: str, data: Any) -> str:
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return orjson.dumps({"type": kind, "timestamp": stamp, "data": data}).decode()


def _public(row: Row | dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "url": row["url"],
        "events": orjson.loads(row["events"]),
        "filter": row["filter"],
        "active": bool(row["active"]),
        "created": row["created"],
        "updated": row["updated"],
    }


def _delivery(row: Row, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "webhookId": row["webhookId"],
        "type": row["type"],
        "state": row["state"],
        "attempts": attempts,
        "payload": orjson.loads(row["payload"]),
        "created": row["created"],
        "updated": row["updated"],
    }
