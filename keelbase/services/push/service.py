"""Web Push for an app: keys, subscriptions and ``send`` from hooks and routes.

``send`` looks up the subscriptions of the users it names and returns at once;
delivery runs in the background, a bounded number at a time, each message
retried a few times on 429, 5xx or an unreachable service. A 404 or 410 means
the browser dropped the subscription: its row is removed. Other refusals are
logged and given up (they will not get better by retrying).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from keelbase.core.fields.relation import RelationField
from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo
from keelbase.errors import ApiError, BadRequestError, UnauthorizedError
from keelbase.services.push import keys as vapid
from keelbase.services.push import rules as push_rules
from keelbase.services.push.endpoints import is_public, is_url_text, parse_subscription
from keelbase.services.push.subscriptions import PushSubscription, PushSubscriptions
from keelbase.services.records.service import RecordsService
from keelbase.store.base import Store

if TYPE_CHECKING:  # imported when the first message goes out: pywebpush is slow to load
    from keelbase.adapters.webpush import WebPushGateway

log = logging.getLogger("keelbase.push")

# aes128gcm in one 4096-byte record: 86 header bytes, a padding delimiter and the 16-byte tag.
MAX_PAYLOAD = 3993
URGENCIES = ("very-low", "low", "normal", "high")
MAX_TTL = 28 * 24 * 3600  # what push services keep at most
RETRY_DELAYS = (1.0, 5.0, 30.0)  # after the first attempt: three more, then given up
CONCURRENCY = 16
MAX_RECIPIENTS_PER_FIELD = 100  # ids of one relation field looked up per event


@dataclass
class PushDelivery:
    """What one ``send`` did, once ``wait()`` returns."""

    queued: int = 0
    sent: int = 0
    removed: int = 0  # expired subscriptions (404/410) deleted
    failed: int = 0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def wait(self) -> PushDelivery:
        if self._task is not None:
            await asyncio.shield(self._task)
        return self


class PushService:
    def __init__(
        self,
        store: Store,
        schema: list[str],
        records: RecordsService,
        subject: Callable[[], str],
        encryption_key: str = "",
        *,
        listen: bool = True,
    ) -> None:
        """With ``listen`` it hears record events itself; without, the owner passes them to
        ``forget_deleted_owner`` and ``on_record_event`` (``App`` builds it on first use)."""
        self.store = store
        self._encryption_key = encryption_key  # seals the VAPID private key at rest
        self.records = records
        self.subscriptions = PushSubscriptions(store, schema)
        self._subject = subject
        self._keys: vapid.VapidKeys | None = None
        self._gateway: WebPushGateway | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(CONCURRENCY)
        # Endpoints on loopback or private networks (and plain http) are refused unless allowed.
        self.allow_private_endpoints = False
        self.retry_delays: tuple[float, ...] = RETRY_DELAYS
        self.rules = push_rules.PushRules(store)
        if listen:
            records.on_event(self.forget_deleted_owner)
            records.on_event(self.on_record_event)

    async def start(self) -> None:
        await self.subscriptions.create_table()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._gateway is not None:
            await self._gateway.close()
            self._gateway = None

    # Keys ---------------------------------------------------------------------

    async def keys(self) -> vapid.VapidKeys:
        if self._keys is None:
            self._keys = await vapid.load_or_create(self.store, self._encryption_key)
        return self._keys

    async def public_key(self) -> str:
        """The applicationServerKey browsers subscribe with (base64url)."""
        return (await self.keys()).public_key

    # Subscriptions ------------------------------------------------------------

    async def subscribe(self, auth: Record | None, body: Any) -> tuple[PushSubscription, bool]:
        """Store a browser's PushSubscription for the signed-in record; True when it is new."""
        if auth is None:
            raise UnauthorizedError("The request requires valid record authorization token.")
        parsed = parse_subscription(body, self.allow_private_endpoints)
        if not self.allow_private_endpoints and not await is_public(parsed.endpoint):
            raise BadRequestError(
                "Invalid push subscription.",
                {"endpoint": {"code": "validation_invalid_url",
                              "message": "The push service's address is not a public one."}},
            )  # fmt: skip
        owned = PushSubscription(
            parsed.endpoint, parsed.p256dh, parsed.auth, auth.collection.id, auth.id
        )
        created = await self.subscriptions.save(owned)
        return owned, created

    async def unsubscribe(self, auth: Record | None, endpoint: Any) -> bool:
        if auth is None:
            raise UnauthorizedError("The request requires valid record authorization token.")
        if not isinstance(endpoint, str) or not is_url_text(endpoint):
            raise BadRequestError(
                "Invalid push subscription.",
                {"endpoint": {"code": "validation_required", "message": "Cannot be blank."}},
            )
        return await self.subscriptions.remove(endpoint, auth.collection.id, auth.id)

    async def forget_deleted_owner(self, action: str, record: Record) -> None:
        if action == "delete" and record.collection.is_auth:
            await self.subscriptions.remove_owner(record.collection.id, record.id)

    # Push rules ---------------------------------------------------------------

    async def list_rules(self) -> list[dict[str, Any]]:
        return [r.to_json(self._collections()) for r in await self.rules.all()]

    async def view_rule(self, rule_id: str) -> dict[str, Any]:
        return (await self.rules.get(rule_id)).to_json(self._collections())

    async def save_rule(self, rule_id: str, body: Any) -> dict[str, Any]:
        """Create (``rule_id`` empty) or update a rule from a superuser's request body."""
        previous = await self.rules.get(rule_id) if rule_id else None
        rule = push_rules.parse_rule(body, self.records.collection, previous)
        if rule.recipients:
            await self._check_filter(rule)
        await self.rules.change(rule_id, rule)
        return rule.to_json(self._collections())

    async def delete_rule(self, rule_id: str) -> None:
        await self.rules.change(rule_id, None)

    def _collections(self) -> dict[str, Any]:
        return {c.id: c for c in self.records.schema}

    async def _check_filter(self, rule: push_rules.PushRule) -> None:
        """The recipients filter must compile: tried once with the collection's empty record."""
        collection = self.records.collection(rule.collectionId)
        empty = Record(collection, {})
        target = self.records.collection(rule.recipientsCollection)
        try:
            await self.records.find_by_filter(
                target, rule.recipients, push_rules.filter_params(empty), limit=1
            )
        except BadRequestError as error:
            raise BadRequestError(
                "Failed to save the push rule.",
                {"recipients": {"code": "validation_invalid_filter", "message": error.message}},
            ) from error

    async def on_record_event(self, action: str, record: Record) -> None:
        """After a commit: queue the push of every active rule for this event (in the background)."""
        if record.collection.is_view:
            return
        try:
            matching = await self.rules.of(record.collection.id, action)
        except Exception:  # the write committed: a failed lookup must not fail its request
            log.exception("push rules could not be read; no push for this event")
            return
        for rule in matching:
            task = asyncio.create_task(
                self._apply_rule(rule, action, record), name="keelbase-push-rule"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _apply_rule(self, rule: push_rules.PushRule, action: str, record: Record) -> None:
        try:
            recipients = await self._rule_recipients(rule, record)
            viewer_rule = record.collection.viewRule
            allowed = [
                r
                for r in recipients
                if await self.records.record_matches(record, viewer_rule, RequestInfo(auth=r))
            ]
            if not allowed:
                return
            payload = push_rules.payload(rule, record, action, MAX_PAYLOAD)
            delivery = await self.send(allowed, payload, ttl=rule.ttl, urgency=rule.urgency)
            await delivery.wait()
        except (ApiError, ValueError) as error:
            log.warning("push rule %s not applied: %s", rule.id, error)

    async def _rule_recipients(self, rule: push_rules.PushRule, record: Record) -> list[Record]:
        found: dict[tuple[str, str], Record] = {}
        for name in rule.relations:
            item = record.collection.field(name)
            if not isinstance(item, RelationField):
                continue
            target = self.records.schema.by_id(item.collectionId)
            value = record.get(name)
            ids = [
                v
                for v in (value if isinstance(value, list) else [value])
                if isinstance(v, str) and v
            ]
            if target is None or not target.is_auth or not ids:
                continue
            for one in await self.records.find_by_filter(
                target,
                " || ".join(f"id = {{:r{i}}}" for i in range(len(ids[:MAX_RECIPIENTS_PER_FIELD]))),
                {f"r{i}": v for i, v in enumerate(ids[:MAX_RECIPIENTS_PER_FIELD])},
            ):
                found[(target.id, one.id)] = one
        if rule.recipients:
            target = self.records.schema.by_id(rule.recipientsCollection)
            if target is not None:
                for one in await self.records.find_by_filter(
                    target, rule.recipients, push_rules.filter_params(record),
                    limit=push_rules.MAX_RECIPIENTS,
                ):  # fmt: skip
                    found[(target.id, one.id)] = one
        if len(found) > push_rules.MAX_RECIPIENTS:
            log.warning("push rule %s: more than %d recipients; the rest skipped",
                        rule.id, push_rules.MAX_RECIPIENTS)  # fmt: skip
        return list(found.values())[: push_rules.MAX_RECIPIENTS]

    # Sending ------------------------------------------------------------------

    async def send(
        self,
        to: Record | Iterable[Record] | str,
        payload: Any,
        *,
        collection: str = "users",
        params: dict[str, Any] | None = None,
        ttl: int = 24 * 3600,
        urgency: str = "normal",
        topic: str = "",
    ) -> PushDelivery:
        """Push ``payload`` (text, bytes or JSON-able) to every browser of the users named.

        ``to`` is an auth record, several, or a filter over ``collection`` with its
        ``params`` (as in ``find_by_filter``). Returns at once; ``await delivery.wait()``
        for the outcome.
        """
        body = _encode(payload)
        if urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {', '.join(URGENCIES)}")
        if not 0 <= ttl <= MAX_TTL:
            raise ValueError(f"ttl must be between 0 and {MAX_TTL} seconds")
        owners = await self._owners(to, collection, params)
        targets = await self.subscriptions.of_owners(owners) if owners else []
        delivery = PushDelivery(queued=len(targets))
        if not targets:
            return delivery
        keys = await self.keys()
        task = asyncio.create_task(
            self._deliver_all(targets, body, keys, ttl, urgency, topic, delivery),
            name="keelbase-push",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        delivery._task = task
        return delivery

    async def _owners(
        self, to: Record | Iterable[Record] | str, collection: str, params: dict[str, Any] | None
    ) -> list[tuple[str, str]]:
        if isinstance(to, Record):
            return [(to.collection.id, to.id)]
        if isinstance(to, str):
            target = self.records.collection(collection)
            found = await self.records.find_by_filter(target, to, params)
            return [(r.collection.id, r.id) for r in found]
        return [(r.collection.id, r.id) for r in to]

    async def _deliver_all(
        self,
        targets: list[PushSubscription],
        body: bytes,
        keys: vapid.VapidKeys,
        ttl: int,
        urgency: str,
        topic: str,
        delivery: PushDelivery,
    ) -> None:
        await asyncio.gather(
            *(self._deliver(t, body, keys, ttl, urgency, topic, delivery) for t in targets)
        )

    async def _deliver(
        self,
        target: PushSubscription,
        body: bytes,
        keys: vapid.VapidKeys,
        ttl: int,
        urgency: str,
        topic: str,
        delivery: PushDelivery,
    ) -> None:
        if self._gateway is None:
            # Loaded with the first message (pywebpush and httpx take a while), off the loop.
            webpush = await asyncio.to_thread(importlib.import_module, "keelbase.adapters.webpush")
            if self._gateway is None:
                self._gateway = webpush.WebPushGateway()
        import httpx  # loaded with the gateway

        for attempt, delay in enumerate((0.0, *self.retry_delays)):
            if delay:
                await asyncio.sleep(delay)
            if not self.allow_private_endpoints and not await is_public(target.endpoint):
                log.warning("push endpoint is not a public address; skipped")
                delivery.failed += 1
                return
            try:
                async with self._slots:
                    status = await self._gateway.send(
                        target.info(),
                        body,
                        private_key=keys.private_key,
                        subject="mailto:" + self._subject(),
                        ttl=ttl,
                        urgency=urgency,
                        topic=topic,
                    )
            except (httpx.HTTPError, OSError) as error:
                log.info("push attempt %d failed: %s", attempt + 1, type(error).__name__)
                continue
            if 200 <= status < 300:
                delivery.sent += 1
                return
            if status in (404, 410):
                await self.subscriptions.remove(target.endpoint)
                delivery.removed += 1
                return
            if status != 429 and status < 500:
                log.warning("push service refused a message with %d; not retried", status)
                break
        delivery.failed += 1


def _encode(payload: Any) -> bytes:
    if isinstance(payload, bytes):
        body = payload
    elif isinstance(payload, str):
        body = payload.encode()
    else:
        body = orjson.dumps(payload)
    if len(body) > MAX_PAYLOAD:
        raise BadRequestError(f"A push message holds at most {MAX_PAYLOAD} bytes.")
    return body
