"""Realtime: PocketBase's SSE subscriptions, rule-aware, fed by the event broker.

Every committed record change is published to the broker; each node's hub hears
every event once and sends it to its own clients whose subscriptions match and
who could read the record through the REST API (list rule for ``*`` topics,
view rule for record topics, evaluated with each client's auth). Custom topics
carry messages that server code publishes; a guard may refuse subscriptions.

Nodes talk through the broker in typed messages (``adapters/broker/messages.py``):
record changes and custom messages for everyone, and requests for the node that
holds a given client's stream (subscribe, presence, send to one client) with their results.

Channels (our additions) live here too, their rules in their own modules:
clients broadcast to custom topics (``channels.py``), say who is on a topic
(``presence.py``), and get what they missed after a reconnect (``replay.py``):
every published event carries an id, the same on every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from keelbase.adapters.broker.base import Broker
from keelbase.adapters.broker.local import LocalBroker
from keelbase.adapters.broker.messages import (
    BrokerMessage,
    ClientMessageRequest,
    ClientMessageResult,
    CustomMessage,
    Dispatcher,
    PresenceRequest,
    RecordChanged,
    SubscribeRequest,
    SubscribeResult,
    encode,
)
from keelbase.adapters.presence import MemoryPresence, PresenceStore
from keelbase.core.filter import FilterError
from keelbase.core.ids import random_string
from keelbase.core.records.fields_picker import parse_fields, pick
from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo
from keelbase.errors import (
    ApiError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    field_error,
    required_error,
)
from keelbase.events import RealtimeMessageEvent, RealtimeSubscribeEvent
from keelbase.hooks import Hooks
from keelbase.services.metrics.meter import Meter
from keelbase.services.realtime.channels import (
    PRESENCE_PREFIX,
    BroadcastCheck,
    Guard,
    check_broadcast,
    check_custom_topic,
    encode_broadcast,
    passes,
)
from keelbase.services.realtime.clients import PING, QUEUE_LIMIT, Client, Message, Sink
from keelbase.services.realtime.presence import Presence, check_state
from keelbase.services.realtime.replay import Entry, ReplayBuffer
from keelbase.services.realtime.subscriptions import (
    Subscription,
    check_subscribe_request,
    parse_subscription,
)
from keelbase.services.records.service import RecordsService

log = logging.getLogger("keelbase.realtime")

IDLE_TIMEOUT = 300.0  # PocketBase closes a stream after 5 minutes without messages
PING_INTERVAL = 25.0  # SSE comments keep proxies from cutting a quiet stream
FORWARD_TIMEOUT = 3.0  # how long a node waits for the node that holds a stream
CONNECT = "PB_CONNECT"
RESYNC = "PB_RESYNC"  # sent instead of missed events that can no longer be replayed

ApplyAs = Callable[[Record | None], Awaitable[None]]


class RealtimeHub:
    def __init__(
        self,
        records: RecordsService,
        broker: Broker,
        hooks: Hooks,
        meter: Meter | None = None,
        presence: PresenceStore | None = None,
    ) -> None:
        self.records = records
        self.meter = meter or Meter()
        self.broker = broker
        self.hooks = hooks
        self.clients: dict[str, Client] = {}
        self._guards: list[Guard] = []
        self._broadcast_allows: list[BroadcastCheck] = []
        self.replay = ReplayBuffer()
        self.presence = Presence(presence or MemoryPresence(), self.publish)
        self._cleanups: set[asyncio.Task[None]] = set()
        self._keepalive: asyncio.Task[None] | None = None
        # Requests sent to the node that holds a stream, by request id, until it answers.
        self._pending: dict[str, asyncio.Future[SubscribeResult | ClientMessageResult]] = {}
        # With several processes a subscription may arrive where its stream is not.
        self.distributed = not isinstance(broker, LocalBroker)
        # Committed record events go to the broker; ``listen`` takes the messages it brings.
        records.on_event(self.publish_record)
        self.idle_timeout = IDLE_TIMEOUT
        self.ping_interval = PING_INTERVAL
        self.queue_limit = QUEUE_LIMIT

    def listen(self, dispatcher: Dispatcher) -> None:
        """Take the realtime messages every node publishes."""
        dispatcher.on(RecordChanged, self._on_record)
        dispatcher.on(CustomMessage, self._on_custom)
        dispatcher.on(SubscribeRequest, self._subscribe_for_another_node)
        dispatcher.on(SubscribeResult, self._on_result)
        dispatcher.on(ClientMessageRequest, self._client_message_for_another_node)
        dispatcher.on(ClientMessageResult, self._on_result)
        dispatcher.on(PresenceRequest, self._presence_for_another_node)

    # Lifecycle --------------------------------------------------------------

    async def stop(self) -> None:
        for client in list(self.clients.values()):
            with contextlib.suppress(Exception):
                await self.presence.leave_all(client)
        self.close_all()
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive
        await asyncio.gather(*self._cleanups, return_exceptions=True)
        await self.presence.stop()

    def close_all(self) -> None:
        for client in list(self.clients.values()):
            client.close()

    def connect(self, last_event_id: str = "", ip: str = "") -> Client:
        """A new stream; ``last_event_id`` (a reconnecting client's) is replayed from at its
        first subscription. ``ip``: the client's address (see ``Client.ip``)."""
        client = Client(self.queue_limit, self.meter)
        client.resume_from = last_event_id[:100] or None
        client.ip = ip
        self.clients[client.id] = client
        self.replay.connected(client.id)
        self.meter.realtime_connections(len(self.clients))
        return client

    def disconnect(self, client: Client) -> None:
        client.close()
        if self.clients.pop(client.id, None) is not None:
            self.meter.realtime_connections(len(self.clients))
        if client.presence:
            task = asyncio.create_task(self.presence.leave_all(client))
            self._cleanups.add(task)
            task.add_done_callback(self._cleanups.discard)

    # Subscriptions ------------------------------------------------------------

    def guard(self, check: Guard) -> None:
        """Add a check ``(client, topic) -> bool`` for custom topics; False refuses the topic."""
        self._guards.append(check)

    async def subscribe(
        self, client_id: Any, topics: Any, auth: Record | None, ip: str = ""
    ) -> None:
        """``ip``: the caller's address; it must be the stream's (see ``Client.ip``)."""
        topics = check_subscribe_request(client_id, topics)
        client = self.clients.get(client_id)
        if client is None and self.distributed:
            await self._forward_subscribe(client_id, topics, auth, ip)
            return
        await self._apply_subscribe(client, topics, auth, ip)

    async def _apply_subscribe(
        self, client: Client | None, topics: list[str], auth: Record | None, ip: str
    ) -> None:
        _check_client(client, ip)
        assert client is not None
        if client.auth is not None and (auth is None or auth.identity != client.auth.identity):
            raise ForbiddenError("The current and the previous request authorization don't match.")
        event = RealtimeSubscribeEvent(client.id, auth, list(topics))

        async def apply(e: RealtimeSubscribeEvent) -> None:
            assert client is not None
            subscriptions: dict[str, Subscription] = {}
            # guards judge the client as this request would leave it (signed in as ``auth``)
            previous, client.auth = client.auth, auth
            try:
                await self._check_guards(client, e.topics)
            except ApiError:
                client.auth = previous
                raise
            for topic in e.topics:
                subscriptions[topic] = parse_subscription(topic)
            client.subscriptions = subscriptions

        await self.hooks.realtime_subscribe.trigger(event, apply)
        if client.presence:  # left the topics it no longer subscribes to
            await self.presence.leave_all(client, {s.base for s in client.subscriptions.values()})
        if client.resume_from is not None:
            await self._resume(client)

    async def _check_guards(self, client: Client, topics: list[str]) -> None:
        for topic in topics:
            base = parse_subscription(topic).base
            if self._is_collection_topic(base):
                continue
            # presence:<topic> is readable by those who may join <topic>
            guarded = base.removeprefix(PRESENCE_PREFIX)
            for check in self._guards:
                if not await passes(check, client, guarded):
                    raise ForbiddenError(f"You are not allowed to subscribe to {base!r}.")

    async def _forward_subscribe(
        self, client_id: str, topics: list[str], auth: Record | None, ip: str
    ) -> None:
        """The stream is on another node (or worker): ask it, through the broker, and wait."""
        reference = _reference(auth)
        await self._ask_holder(lambda rid: SubscribeRequest(rid, client_id, topics, reference, ip))

    async def _ask_holder(self, request: Callable[[str], BrokerMessage]) -> None:
        """Publish the request made for a new request id; raise the holder's error, if any
        (404 when no node answers)."""
        request_id = random_string(20)
        answer: asyncio.Future[SubscribeResult | ClientMessageResult]
        answer = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        try:
            await self.broker.publish(encode(request(request_id)))
            result = await asyncio.wait_for(answer, FORWARD_TIMEOUT)
        except TimeoutError as error:
            raise NotFoundError("Missing or invalid client id.") from error
        finally:
            self._pending.pop(request_id, None)
        if not isinstance(result, SubscribeResult):
            raise NotFoundError("Missing or invalid client id.")
        if result.status != 204:
            raise ApiError(result.status, result.message, result.data)

    async def _answer_for_holder(
        self, request_id: str, auth_reference: list[str] | None, apply: ApplyAs
    ) -> None:
        """Run a forwarded request as its caller (found again from its reference) and publish
        the result for the node that waits."""
        auth: Record | None = None
        if auth_reference is not None:
            collection = self.records.schema.by_id(str(auth_reference[0]))
            if collection is not None:
                auth = await self.records.find_by_id(collection, str(auth_reference[1]))
        result = SubscribeResult(request_id)
        try:
            await apply(auth)
        except ApiError as error:
            result = SubscribeResult(request_id, error.status, error.message, error.data)
        await self.broker.publish(encode(result))

    async def _subscribe_for_another_node(self, message: SubscribeRequest) -> None:
        client = self.clients.get(message.client_id)
        if client is None:
            return  # not ours; the node that holds it answers
        topics = [str(t) for t in message.topics]
        await self._answer_for_holder(
            message.request_id,
            message.auth,
            lambda auth: self._apply_subscribe(client, topics, auth, str(message.ip)),
        )

    async def _on_result(self, message: SubscribeResult | ClientMessageResult) -> None:
        pending = self._pending.get(message.request_id)
        if pending is not None and not pending.done():
            pending.set_result(message)

    def _is_collection_topic(self, base: str) -> bool:
        name = base.split("/", 1)[0]
        return self.records.schema.get(name) is not None

    # Publishing ---------------------------------------------------------------

    async def publish_record(self, action: str, record: Record) -> None:
        await self.broker.publish(
            encode(RecordChanged(action, record.collection.id, record.data, _event_id()))
        )

    async def publish(self, topic: str, data: Any) -> None:
        """Send ``data`` (JSON-able) to every client subscribed to the custom ``topic``, on every node."""
        await self.broker.publish(encode(CustomMessage(topic, data, _event_id())))

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
        answer: asyncio.Future[SubscribeResult | ClientMessageResult]
        answer = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        try:
            await self.broker.publish(
                encode(ClientMessageRequest(request_id, client_id, topic, data, unsubscribe))
            )
            result = await asyncio.wait_for(answer, FORWARD_TIMEOUT)
        except TimeoutError:
            return False
        finally:
            self._pending.pop(request_id, None)
        return isinstance(result, ClientMessageResult) and result.delivered is True

    async def _send_to_client(
        self, client: Client | None, topic: str, data: Any, unsubscribe: bool
    ) -> bool:
        if client is None or client.discarded:
            return False
        subscription = next((s for s in client.subscriptions.values() if s.base == topic), None)
        if subscription is None:
            return False
        # not replayable; its id says which events the client is caught up with
        await self._send(
            client, subscription.topic, orjson.dumps(data).decode(), self.replay.last_id
        )
        if unsubscribe:
            client.subscriptions.pop(subscription.topic, None)
        return True

    async def _client_message_for_another_node(self, message: ClientMessageRequest) -> None:
        client = self.clients.get(message.client_id)
        if client is None:
            return  # not ours; the node that holds it answers
        delivered = await self._send_to_client(
            client, message.topic, message.data, bool(message.unsubscribe)
        )
        await self.broker.publish(encode(ClientMessageResult(message.request_id, delivered)))

    async def _on_custom(self, message: CustomMessage) -> None:
        if message.event_id:
            size = len(message.topic) + len(orjson.dumps(message.data))
            self.replay.add(message.event_id, message, size)
        await self._deliver_custom(message, list(self.clients.values()))

    async def _deliver_custom(
        self, message: CustomMessage, clients: list[Client], direct: bool = False
    ) -> None:
        data = orjson.dumps(message.data).decode()
        for client in clients:
            for subscription in list(client.subscriptions.values()):
                if subscription.base == message.topic:
                    await self._send(client, subscription.topic, data, message.event_id, direct)

    async def _on_record(self, message: RecordChanged) -> None:
        if message.event_id:
            self.replay.add(message.event_id, message, len(orjson.dumps(message.record)))
        collection = self.records.schema.by_id(message.collection_id)
        if collection is None:
            return
        record = Record(collection, dict(message.record))
        if collection.is_auth:
            self._follow_auth_record(message.action, record)
        if self.clients:
            await self.deliver(message.action, record, message.event_id)

    # Replay after a reconnect ------------------------------------------------------

    async def _resume(self, client: Client) -> None:
        """Replay what the client missed since its Last-Event-ID on its new subscriptions,
        or tell it to resync. Live events arriving meanwhile wait, so order is kept."""
        last, client.resume_from = client.resume_from or "", None
        missed = self.replay.after(last)
        if missed is None:
            resync = {"clientId": client.id, "lastEventId": last}
            client.send(RESYNC, orjson.dumps(resync).decode(), self.replay.last_id)
            return
        client.held = []
        replayed: set[str] = set()
        try:
            for entry in missed:
                replayed.add(entry.id)
                await self._replay_entry(entry, client)
        finally:
            held, client.held = client.held, None
            for message in held:
                if not message.id or message.id not in replayed:
                    client.put(message)

    async def _replay_entry(self, entry: Entry, client: Client) -> None:
        message = entry.message
        if isinstance(message, CustomMessage):
            await self._deliver_custom(message, [client], direct=True)
            return
        collection = self.records.schema.by_id(message.collection_id)
        if collection is not None:
            record = Record(collection, dict(message.record))
            await self.deliver(message.action, record, entry.id, only=client)

    # Broadcast and presence ---------------------------------------------------------

    def allow_broadcast(self, check: BroadcastCheck) -> None:
        """Add a check ``(auth, topic, data) -> bool``; a broadcast needs one that says True
        (after every guard passed). Superusers may broadcast without one."""
        self._broadcast_allows.append(check)

    async def broadcast(self, info: RequestInfo, topic: Any, data: Any) -> None:
        """A client's message to every subscriber of a custom topic, on every node; not stored."""
        topic = check_custom_topic(topic, self._is_collection_topic)
        encode_broadcast(data)
        caller = Client(1, self.meter)  # stands for the caller in the guards
        caller.auth = info.auth
        await check_broadcast(
            caller, topic, data, info.is_superuser, self._guards, self._broadcast_allows
        )
        sender = (
            {"collectionId": info.auth.collection.id, "id": info.auth.id} if info.auth else None
        )
        await self.publish(topic, {"data": data, "sender": sender})

    async def set_presence(
        self,
        client_id: Any,
        topic: Any,
        state: Any,
        auth: Record | None,
        leave: bool = False,
        ip: str = "",
    ) -> None:
        """Join (or update, or with ``leave`` drop) a client's presence on a topic it subscribed to.

        ``ip``: the caller's address, which must be the stream's, as for subscriptions."""
        if not isinstance(client_id, str) or not client_id:
            raise BadRequestError(data={"clientId": required_error()})
        topic = check_custom_topic(topic, self._is_collection_topic)
        state = check_state(state)
        client = self.clients.get(client_id)
        if client is None and self.distributed:
            reference = _reference(auth)
            await self._ask_holder(
                lambda rid: PresenceRequest(rid, client_id, topic, state, reference, leave, ip)
            )
            return
        await self._apply_presence(client, topic, state, auth, leave, ip)

    async def _apply_presence(
        self,
        client: Client | None,
        topic: str,
        state: dict[str, Any],
        auth: Record | None,
        leave: bool,
        ip: str,
    ) -> None:
        _check_client(client, ip)
        assert client is not None
        same = (auth.identity if auth else None) == (client.auth.identity if client.auth else None)
        if not same:
            raise ForbiddenError("The current and the previous request authorization don't match.")
        if leave:
            await self.presence.leave(client, topic)
            return
        if not any(s.base == topic for s in client.subscriptions.values()):
            raise BadRequestError(
                data={
                    "topic": field_error(
                        "validation_not_subscribed", "Subscribe to the topic first."
                    )
                }
            )
        self.presence.ensure_running()
        await self.presence.join(client, topic, state)

    async def _presence_for_another_node(self, message: PresenceRequest) -> None:
        client = self.clients.get(message.client_id)
        if client is None:
            return  # not ours; the node that holds it answers
        state = message.state if isinstance(message.state, dict) else {}
        await self._answer_for_holder(
            message.request_id,
            message.auth,
            lambda auth: self._apply_presence(
                client, str(message.topic), state, auth, bool(message.leave), str(message.ip)
            ),
        )

    async def list_presence(self, info: RequestInfo, topic: Any) -> list[dict[str, Any]]:
        """Who is on a topic, for a caller the topic's guards let in."""
        topic = check_custom_topic(topic, self._is_collection_topic)
        caller = Client(1, self.meter)
        caller.auth = info.auth
        for check in self._guards:
            if not await passes(check, caller, topic):
                raise ForbiddenError(f"You are not allowed to see who is on {topic!r}.")
        return await self.presence.members(topic)

    def _follow_auth_record(self, action: str, record: Record) -> None:
        """Clients signed in as this record: deleted → dropped; new password → signed out."""
        for client in list(self.clients.values()):
            auth = client.auth
            if auth is None or auth.identity != record.identity:
                continue
            if action == "delete":
                self.disconnect(client)
            elif record.get("tokenKey") != auth.get("tokenKey"):
                client.auth = None
            else:
                client.auth = record

    async def deliver(
        self, action: str, record: Record, event_id: str = "", only: Client | None = None
    ) -> None:
        """Send one record event to every subscription whose rule lets its client read it.

        Clients with the same auth and subscription options get the same answer,
        so the rule check and the payload are computed once per key for this
        event (the caches live for this call only). The key names the auth
        record by its collection and id: an id alone may belong to records of
        two auth collections, which rules tell apart.
        """
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
        messages: dict[tuple[Any, ...], Message] = {}
        hooked = bool(self.hooks.realtime_message.bindings)
        now, sent = time.monotonic(), 0  # read and counted once for the whole event
        for client in [only] if only is not None else list(self.clients.values()):
            for subscription in list(client.subscriptions.values()):
                if subscription.base not in rules:
                    continue
                rule = rules[subscription.base]
                auth = client.auth
                decision_key = (
                    rule,
                    auth.identity if auth else None,
                    subscription.options_key,
                )
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
                if payload is None:
                    continue
                if only is not None or hooked:
                    await self._send(
                        client, subscription.topic, payload, event_id, only is not None
                    )
                    continue
                # one message (and its encoded bytes) for every client that gets the same answer
                message_key = (subscription.topic, decision_key)
                message = messages.get(message_key)
                if message is None:
                    message = messages[message_key] = Message(subscription.topic, payload, event_id)
                sent += client.send_message(message, now)
        self.meter.realtime_sent(sent)

    async def _send(
        self, client: Client, name: str, data: str, event_id: str = "", direct: bool = False
    ) -> None:
        """Queue a message for one client, through the realtime_message hooks when any are bound.

        ``direct`` (a replay) passes by the live messages a replay holds back."""
        hook = self.hooks.realtime_message
        if not hook.bindings:
            if direct:
                client.put(Message(name, data, event_id))
            else:
                client.send(name, data, event_id)
            return
        event = RealtimeMessageEvent(client.id, client.auth, name, data)

        async def send(e: RealtimeMessageEvent) -> None:
            if direct:
                client.put(Message(e.name, e.data, event_id))
            else:
                client.send(e.name, e.data, event_id)

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
        try:
            yield self.opened(client)
            queue = client.queue
            meter = self.meter
            while (message := await queue.get()) is not None:
                client.taken(message)
                if message is PING:
                    yield b":\n\n"
                    continue
                client.last_message = time.monotonic()
                yield message.event(client.id)
                meter.realtime_sent()
        finally:
            self.disconnect(client)

    def opened(self, client: Client) -> bytes:
        """A client's stream starts: its first event (PB_CONNECT)."""
        self._ensure_keepalive()
        self.presence.ensure_running()  # also sweeps the entries of nodes that died
        client.last_message = time.monotonic()
        return _event(client.id, CONNECT, orjson.dumps({"clientId": client.id}).decode())

    def attach(self, client: Client, sink: Sink) -> None:
        """The HTTP layer writes this client's stream itself, through ``sink``, once
        ``opened``'s event went out: no per-client queue or generator from here on."""
        client.attach(sink)

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
                elif client.sink is not None:
                    if client.idle():
                        client.put(PING)
                elif client.queue.empty():
                    with contextlib.suppress(asyncio.QueueFull):
                        client.queue.put_nowait(PING)


def _check_client(client: Client | None, ip: str) -> None:
    """The client exists and the request comes from its stream's address (PocketBase's
    answers: 404, then 400). A client made without an address (``connect`` from code) is
    not checked."""
    if client is None or client.discarded:
        raise NotFoundError("Missing or invalid client id.")
    if client.ip and client.ip != ip:
        raise BadRequestError("Invalid realtime client.")


def _event(event_id: str, name: str, data: str) -> bytes:
    return f"id:{event_id}\nevent:{name}\ndata:{data}\n\n".encode()


def _reference(auth: Record | None) -> list[str] | None:
    """How a forwarded request names its caller: [collection id, record id]."""
    return [auth.collection.id, auth.id] if auth is not None else None


def _event_id() -> str:
    """The SSE id of one published event: unique, the same on every node."""
    return random_string(20)
