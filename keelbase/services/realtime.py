"""Realtime: PocketBase's SSE subscriptions, rule-aware, fed by the event broker.

Every committed record change is published to the broker; each node's hub hears
every event once and sends it to its own clients whose subscriptions match and
who could read the record through the REST API (list rule for ``*`` topics,
view rule for record topics, evaluated with each client's auth). Custom topics
carry messages that server code publishes; a guard may refuse subscriptions.

Each client has a bounded queue: a client that stops reading is dropped (the
SDK reconnects and subscribes again) instead of growing memory without bound.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson

from keelbase.adapters.broker.base import Broker
from keelbase.core.fields_picker import parse_fields, pick
from keelbase.core.filter import FilterError
from keelbase.core.ids import random_string
from keelbase.core.record import Record
from keelbase.core.request_info import RequestInfo, header_key
from keelbase.errors import ApiError, BadRequestError, ForbiddenError, NotFoundError
from keelbase.services.records import RecordsService

log = logging.getLogger("keelbase.realtime")

IDLE_TIMEOUT = 300.0  # PocketBase closes a stream after 5 minutes without messages
PING_INTERVAL = 25.0  # SSE comments keep proxies from cutting a quiet stream
QUEUE_LIMIT = 1000
MAX_SUBSCRIPTIONS = 1000
MAX_TOPIC_LENGTH = 2500
CONNECT = "PB_CONNECT"

Guard = Callable[["Client", str], bool | Awaitable[bool]]


@dataclass
class Subscription:
    topic: str  # exactly as the client sent it: the name its events carry
    base: str  # the topic without its options
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def parse_subscription(topic: str) -> Subscription:
    base, _, raw_options = topic.partition("?options=")
    query: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if raw_options:
        try:
            options = json.loads(unquote(raw_options))
        except ValueError:
            options = {}
        if isinstance(options, dict):
            if isinstance(options.get("query"), dict):
                query = {
                    str(k): v if isinstance(v, str) else json.dumps(v)
                    for k, v in options["query"].items()
                }
            if isinstance(options.get("headers"), dict):
                headers = {header_key(str(k)): str(v) for k, v in options["headers"].items()}
    return Subscription(topic, base, query, headers)


@dataclass
class Message:
    name: str
    data: str


class Client:
    def __init__(self, queue_limit: int = QUEUE_LIMIT) -> None:
        self.id = random_string(40)
        self.auth: Record | None = None
        self.subscriptions: dict[str, Subscription] = {}
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue(queue_limit)
        self.discarded = False
        self.last_message = time.monotonic()

    def send(self, name: str, data: str) -> None:
        if self.discarded:
            return
        try:
            self.queue.put_nowait(Message(name, data))
        except asyncio.QueueFull:
            log.warning("realtime client %s stopped reading; dropping it", self.id)
            self.close()

    def close(self) -> None:
        """End the stream (the queue is emptied so the end marker always fits)."""
        if self.discarded:
            return
        self.discarded = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class RealtimeHub:
    def __init__(self, records: RecordsService, broker: Broker) -> None:
        self.records = records
        self.broker = broker
        self.clients: dict[str, Client] = {}
        self._guards: list[Guard] = []
        self.idle_timeout = IDLE_TIMEOUT
        self.ping_interval = PING_INTERVAL
        self.queue_limit = QUEUE_LIMIT

    # Lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        """Publish committed record events; the app feeds broker messages to ``handle``."""
        self.records.on_event(self.publish_record)

    async def stop(self) -> None:
        self.close_all()

    def close_all(self) -> None:
        for client in list(self.clients.values()):
            client.close()

    def connect(self) -> Client:
        client = Client(self.queue_limit)
        self.clients[client.id] = client
        return client

    def disconnect(self, client: Client) -> None:
        client.close()
        self.clients.pop(client.id, None)

    # Subscriptions ------------------------------------------------------------

    def guard(self, check: Guard) -> None:
        """Add a check ``(client, topic) -> bool`` for custom topics; False refuses the topic."""
        self._guards.append(check)

    async def subscribe(self, client_id: Any, topics: Any, auth: Record | None) -> None:
        errors: dict[str, Any] = {}
        if not isinstance(client_id, str) or not client_id:
            errors["clientId"] = {"code": "validation_required", "message": "Cannot be blank."}
        if topics is None:
            topics = []
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            errors["subscriptions"] = {
                "code": "validation_invalid_value",
                "message": "Must be a list of topics.",
            }
        elif len(topics) > MAX_SUBSCRIPTIONS:
            errors["subscriptions"] = {
                "code": "validation_length_too_long",
                "message": f"The length must be no more than {MAX_SUBSCRIPTIONS}.",
                "params": {"max": MAX_SUBSCRIPTIONS},
            }
        else:
            for index, topic in enumerate(topics):
                if len(topic) > MAX_TOPIC_LENGTH:
                    errors.setdefault("subscriptions", {})[str(index)] = {
                        "code": "validation_length_too_long",
                        "message": f"The length must be no more than {MAX_TOPIC_LENGTH}.",
                        "params": {"max": MAX_TOPIC_LENGTH},
                    }
        if errors:
            raise BadRequestError(data=errors)
        client = self.clients.get(client_id)
        if client is None or client.discarded:
            raise NotFoundError("Missing or invalid client id.")
        if client.auth is not None and (auth is None or auth.id != client.auth.id):
            raise ForbiddenError("The current and the previous request authorization don't match.")
        subscriptions: dict[str, Subscription] = {}
        for topic in topics:
            subscription = parse_subscription(topic)
            if not self._is_collection_topic(subscription.base):
                for check in self._guards:
                    allowed = check(client, subscription.base)
                    if inspect.isawaitable(allowed):
                        allowed = await allowed
                    if not allowed:
                        raise ForbiddenError(
                            f"You are not allowed to subscribe to {subscription.base!r}."
                        )
            subscriptions[topic] = subscription
        client.auth = auth
        client.subscriptions = subscriptions

    def _is_collection_topic(self, base: str) -> bool:
        name = base.split("/", 1)[0]
        return self.records.schema.get(name) is not None

    # Publishing ---------------------------------------------------------------

    async def publish_record(self, action: str, record: Record) -> None:
        await self.broker.publish(
            {
                "kind": "record",
                "action": action,
                "collectionId": record.collection.id,
                "record": record.data,
            }
        )

    async def publish(self, topic: str, data: Any) -> None:
        """Send ``data`` (JSON-able) to every client subscribed to the custom ``topic``, on every node."""
        await self.broker.publish({"kind": "custom", "topic": topic, "data": data})

    async def handle(self, message: dict[str, Any]) -> None:
        if message.get("kind") == "custom":
            data = orjson.dumps(message.get("data")).decode()
            for client in list(self.clients.values()):
                for subscription in client.subscriptions.values():
                    if subscription.base == message.get("topic"):
                        client.send(subscription.topic, data)
            return
        collection = self.records.schema.by_id(str(message.get("collectionId", "")))
        if collection is None or not isinstance(message.get("record"), dict):
            return
        record = Record(collection, dict(message["record"]))
        action = str(message.get("action"))
        if collection.is_auth:
            self._follow_auth_record(action, record)
        if self.clients:
            await self.deliver(action, record)

    def _follow_auth_record(self, action: str, record: Record) -> None:
        """Clients signed in as this record: deleted → dropped; new password → signed out."""
        for client in list(self.clients.values()):
            auth = client.auth
            if auth is None or auth.id != record.id or auth.collection.id != record.collection.id:
                continue
            if action == "delete":
                self.disconnect(client)
            elif record.get("tokenKey") != auth.get("tokenKey"):
                client.auth = None
            else:
                client.auth = record

    async def deliver(self, action: str, record: Record) -> None:
        collection = record.collection
        rules = {
            f"{collection.name}/{record.id}": collection.viewRule,
            f"{collection.id}/{record.id}": collection.viewRule,
            f"{collection.name}/*": collection.listRule,
            f"{collection.id}/*": collection.listRule,
            collection.name: collection.listRule,
            collection.id: collection.listRule,
        }
        decisions: dict[tuple[Any, ...], bool] = {}
        payloads: dict[tuple[Any, ...], str | None] = {}
        for client in list(self.clients.values()):
            for subscription in list(client.subscriptions.values()):
                if subscription.base not in rules:
                    continue
                rule = rules[subscription.base]
                info = RequestInfo(
                    client.auth, "GET", subscription.query, subscription.headers, {}, "realtime"
                )
                auth_key = (client.auth.collection.id, client.auth.id) if client.auth else None
                options_key = (
                    json.dumps(subscription.query, sort_keys=True),
                    json.dumps(subscription.headers, sort_keys=True),
                )
                decision_key = (rule, auth_key, options_key)
                if decision_key not in decisions:
                    decisions[decision_key] = await self._allowed(record, rule, info, subscription)
                if not decisions[decision_key]:
                    continue
                if decision_key not in payloads:
                    payloads[decision_key] = await self._payload(action, record, info, subscription)
                payload = payloads[decision_key]
                if payload is not None:
                    client.send(subscription.topic, payload)

    async def _allowed(
        self, record: Record, rule: str | None, info: RequestInfo, subscription: Subscription
    ) -> bool:
        try:
            return await self.records.record_matches(
                record, rule, info, client_filter=str(subscription.query.get("filter", ""))
            )
        except (ApiError, FilterError):
            return False  # a subscription with a bad filter gets nothing

    async def _payload(
        self, action: str, record: Record, info: RequestInfo, subscription: Subscription
    ) -> str | None:
        try:
            exported = (
                await self.records.export_many(
                    [record.copy()], info, str(subscription.query.get("expand", ""))
                )
            )[0]
            fields = str(subscription.query.get("fields", ""))
            if fields:
                exported = pick(exported, parse_fields(fields))
        except (ApiError, FilterError):
            return None
        return orjson.dumps({"action": action, "record": exported}).decode()

    # Streaming ----------------------------------------------------------------

    async def stream(self, client: Client) -> AsyncIterator[bytes]:
        """The SSE stream of one client; ends when it is closed, idle or gone."""
        try:
            yield _event(client.id, CONNECT, orjson.dumps({"clientId": client.id}).decode())
            client.last_message = time.monotonic()
            while True:
                try:
                    message = await asyncio.wait_for(client.queue.get(), self.ping_interval)
                except TimeoutError:
                    if time.monotonic() - client.last_message > self.idle_timeout:
                        break
                    yield b":\n\n"
                    continue
                if message is None:
                    break
                client.last_message = time.monotonic()
                yield _event(client.id, message.name, message.data)
        finally:
            self.disconnect(client)


def _event(client_id: str, name: str, data: str) -> bytes:
    return f"id:{client_id}\nevent:{name}\ndata:{data}\n\n".encode()
