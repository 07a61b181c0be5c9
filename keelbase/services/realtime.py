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
import contextlib
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
from keelbase.adapters.broker.local import LocalBroker
from keelbase.core.fields_picker import parse_fields, pick
from keelbase.core.filter import FilterError
from keelbase.core.ids import random_string
from keelbase.core.record import Record
from keelbase.core.request_info import RequestInfo, header_key
from keelbase.errors import ApiError, BadRequestError, ForbiddenError, NotFoundError
from keelbase.events import RealtimeMessageEvent, RealtimeSubscribeEvent
from keelbase.services.records import RecordsService

log = logging.getLogger("keelbase.realtime")

IDLE_TIMEOUT = 300.0  # PocketBase closes a stream after 5 minutes without messages
PING_INTERVAL = 25.0  # SSE comments keep proxies from cutting a quiet stream
QUEUE_LIMIT = 1000
FORWARD_TIMEOUT = 3.0  # how long a node waits for the node that holds a stream
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
    # Subscriptions with equal options and auth get the same answer: computed once per event.
    options_key: str = ""

    def __post_init__(self) -> None:
        self.options_key = json.dumps([self.query, self.headers], sort_keys=True)


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


PING = Message("", "")  # a keep-alive comment, not an event


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
        self._keepalive: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        # With several processes a subscription may arrive where its stream is not.
        self.distributed = not isinstance(broker, LocalBroker)
        # Committed record events go to the broker; the app feeds its messages to ``handle``.
        records.on_event(self.publish_record)
        self.idle_timeout = IDLE_TIMEOUT
        self.ping_interval = PING_INTERVAL
        self.queue_limit = QUEUE_LIMIT

    # Lifecycle --------------------------------------------------------------

    async def stop(self) -> None:
        self.close_all()
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive

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
        if client is None and self.distributed:
            await self._forward_subscribe(client_id, topics, auth)
            return
        await self._apply_subscribe(client, topics, auth)

    async def _apply_subscribe(
        self, client: Client | None, topics: list[str], auth: Record | None
    ) -> None:
        if client is None or client.discarded:
            raise NotFoundError("Missing or invalid client id.")
        if client.auth is not None and (auth is None or auth.id != client.auth.id):
            raise ForbiddenError("The current and the previous request authorization don't match.")
        event = RealtimeSubscribeEvent(client.id, auth, list(topics))

        async def apply(e: RealtimeSubscribeEvent) -> None:
            assert client is not None
            subscriptions: dict[str, Subscription] = {}
            for topic in e.topics:
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

        await self.records.hooks.realtime_subscribe.trigger(event, apply)

    async def _forward_subscribe(
        self, client_id: str, topics: list[str], auth: Record | None
    ) -> None:
        """The stream is on another node (or worker): ask it, through the broker, and wait."""
        request_id = random_string(20)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        try:
            await self.broker.publish({
                "kind": "subscribe", "requestId": request_id, "clientId": client_id, "topics": topics,
                "auth": [auth.collection.id, auth.id] if auth is not None else None,
            })  # fmt: skip
            result = await asyncio.wait_for(answer, FORWARD_TIMEOUT)
        except TimeoutError as error:
            raise NotFoundError("Missing or invalid client id.") from error
        finally:
            self._pending.pop(request_id, None)
        if result.get("status") != 204:
            raise ApiError(
                int(result.get("status", 400)),
                str(result.get("message", "")),
                result.get("data") or {},
            )

    async def _subscribe_for_another_node(self, message: dict[str, Any]) -> None:
        client = self.clients.get(str(message.get("clientId")))
        if client is None:
            return  # not ours; the node that holds it answers
        auth: Record | None = None
        reference = message.get("auth")
        if isinstance(reference, list) and len(reference) == 2:
            collection = self.records.schema.by_id(str(reference[0]))
            if collection is not None:
                auth = await self.records.find_by_id(collection, str(reference[1]))
        result: dict[str, Any] = {"status": 204}
        try:
            await self._apply_subscribe(client, list(message.get("topics") or []), auth)
        except ApiError as error:
            result = error.to_json()
        await self.broker.publish(
            {"kind": "subscribe-result", "requestId": message.get("requestId"), **result}
        )

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

    async def send_to_client(
        self, client_id: str, topic: str, data: Any, unsubscribe: bool = False
    ) -> bool:
        """Send ``data`` to one client if it subscribed to ``topic`` (on whichever node holds
        its stream); False when no such client listens. ``unsubscribe`` ends that
        subscription after this message (one-shot topics such as ``@oauth2``)."""
        client = self.clients.get(client_id)
        if client is not None or not self.distributed:
            return await self._send_to_client(client, topic, data, unsubscribe)
        request_id = random_string(20)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        try:
            await self.broker.publish({
                "kind": "client-message", "requestId": request_id, "clientId": client_id,
                "topic": topic, "data": data, "unsubscribe": unsubscribe,
            })  # fmt: skip
            result = await asyncio.wait_for(answer, FORWARD_TIMEOUT)
        except TimeoutError:
            return False
        finally:
            self._pending.pop(request_id, None)
        return result.get("delivered") is True

    async def _send_to_client(
        self, client: Client | None, topic: str, data: Any, unsubscribe: bool
    ) -> bool:
        if client is None or client.discarded:
            return False
        subscription = next((s for s in client.subscriptions.values() if s.base == topic), None)
        if subscription is None:
            return False
        await self._send(client, subscription.topic, orjson.dumps(data).decode())
        if unsubscribe:
            client.subscriptions.pop(subscription.topic, None)
        return True

    async def _client_message_for_another_node(self, message: dict[str, Any]) -> None:
        client = self.clients.get(str(message.get("clientId")))
        if client is None:
            return  # not ours; the node that holds it answers
        delivered = await self._send_to_client(
            client, str(message.get("topic")), message.get("data"), bool(message.get("unsubscribe"))
        )
        await self.broker.publish(
            {
                "kind": "client-message-result",
                "requestId": message.get("requestId"),
                "delivered": delivered,
            }
        )

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("kind")
        if kind == "client-message":
            await self._client_message_for_another_node(message)
            return
        if kind == "subscribe":
            await self._subscribe_for_another_node(message)
            return
        if kind in ("subscribe-result", "client-message-result"):
            pending = self._pending.get(str(message.get("requestId")))
            if pending is not None and not pending.done():
                pending.set_result(message)
            return
        if kind == "custom":
            data = orjson.dumps(message.get("data")).decode()
            for client in list(self.clients.values()):
                for subscription in list(client.subscriptions.values()):
                    if subscription.base == message.get("topic"):
                        await self._send(client, subscription.topic, data)
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
        # Per event, by (rule, auth collection id, auth id, query and headers): record ids are
        # unique per collection only. Lives for this one event, so nothing invalidates it.
        decisions: dict[tuple[Any, ...], bool] = {}
        payloads: dict[tuple[Any, ...], str | None] = {}
        for client in list(self.clients.values()):
            for subscription in list(client.subscriptions.values()):
                if subscription.base not in rules:
                    continue
                rule = rules[subscription.base]
                auth = client.auth
                who = (auth.collection.id, auth.id) if auth else None
                decision_key = (rule, who, subscription.options_key)
                allowed = decisions.get(decision_key)
                if allowed is None:
                    info = RequestInfo(
                        auth, "GET", subscription.query, subscription.headers, {}, "realtime"
                    )
                    allowed = decisions[decision_key] = await self._allowed(
                        record, rule, info, subscription
                    )
                    if allowed:
                        payloads[decision_key] = await self._payload(
                            action, record, info, subscription
                        )
                if not allowed:
                    continue
                payload = payloads[decision_key]
                if payload is not None:
                    await self._send(client, subscription.topic, payload)

    async def _send(self, client: Client, name: str, data: str) -> None:
        """Queue a message for one client, through the realtime_message hooks when any are bound."""
        hook = self.records.hooks.realtime_message
        if not hook.bindings:
            client.send(name, data)
            return
        event = RealtimeMessageEvent(client.id, client.auth, name, data)

        async def send(e: RealtimeMessageEvent) -> None:
            client.send(e.name, e.data)

        await hook.trigger(event, send)

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
        self._ensure_keepalive()
        try:
            yield _event(client.id, CONNECT, orjson.dumps({"clientId": client.id}).decode())
            client.last_message = time.monotonic()
            queue = client.queue
            while (message := await queue.get()) is not None:
                if message is PING:
                    yield b":\n\n"
                    continue
                client.last_message = time.monotonic()
                yield _event(client.id, message.name, message.data)
        finally:
            self.disconnect(client)

    def _ensure_keepalive(self) -> None:
        if self._keepalive is None or self._keepalive.done():
            self._keepalive = asyncio.create_task(
                self._keep_alive(), name="keelbase-realtime-keepalive"
            )

    async def _keep_alive(self) -> None:
        """Every ping interval: a comment to quiet streams, and the end of idle ones.

        One timer for all clients instead of a timeout on every read keeps the
        cost of a message to a queue put and a get.
        """
        while self.clients:
            await asyncio.sleep(self.ping_interval)
            now = time.monotonic()
            for client in list(self.clients.values()):
                if now - client.last_message > self.idle_timeout:
                    self.disconnect(client)
                elif client.queue.empty():
                    with contextlib.suppress(asyncio.QueueFull):
                        client.queue.put_nowait(PING)


def _event(client_id: str, name: str, data: str) -> bytes:
    return f"id:{client_id}\nevent:{name}\ndata:{data}\n\n".encode()
