"""The messages nodes send each other through the broker, typed, and one dispatcher for them.

The broker carries JSON objects; each has a ``kind`` and camelCase fields. This
module is the only place that knows that wire shape: senders build a message
class and ``encode`` it, receivers register a handler per class on a
``Dispatcher``, which decodes each incoming object once and calls the handler of
its class. A message of an unknown kind (a newer node during a rolling upgrade)
is logged and skipped, never an error.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

log = logging.getLogger("keelbase.broker")


@dataclass(frozen=True)
class BrokerMessage:
    kind: ClassVar[str] = ""


@dataclass(frozen=True)
class SchemaChanged(BrokerMessage):
    """A node changed collections: every node reloads its schema."""

    kind: ClassVar[str] = "schema"


@dataclass(frozen=True)
class SettingsChanged(BrokerMessage):
    """A node changed the runtime settings: every node reloads them."""

    kind: ClassVar[str] = "settings"


@dataclass(frozen=True)
class RecordChanged(BrokerMessage):
    """A committed create, update or delete, for realtime subscribers on every node."""

    kind: ClassVar[str] = "record"
    action: str = ""
    collection_id: str = ""
    record: dict[str, Any] = field(default_factory=dict)
    event_id: str = ""  # the SSE id every node gives it (replay after a reconnect)


@dataclass(frozen=True)
class CustomMessage(BrokerMessage):
    """A message server code published on a custom realtime topic."""

    kind: ClassVar[str] = "custom"
    topic: str = ""
    data: Any = None
    event_id: str = ""


@dataclass(frozen=True)
class SubscribeRequest(BrokerMessage):
    """Set a client's subscriptions on whichever node holds its stream."""

    kind: ClassVar[str] = "subscribe"
    request_id: str = ""
    client_id: str = ""
    topics: list[str] = field(default_factory=list)
    auth: list[str] | None = None  # [collection id, record id] of the caller, or None
    ip: str = ""  # the caller's address, which must be the stream's


@dataclass(frozen=True)
class SubscribeResult(BrokerMessage):
    """The answer of the node that holds the stream: 204, or an error in PocketBase's shape."""

    kind: ClassVar[str] = "subscribe-result"
    request_id: str = ""
    status: int = 204
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClientMessageRequest(BrokerMessage):
    """Send one message to one client, on whichever node holds its stream."""

    kind: ClassVar[str] = "client-message"
    request_id: str = ""
    client_id: str = ""
    topic: str = ""
    data: Any = None
    unsubscribe: bool = False


@dataclass(frozen=True)
class PresenceRequest(BrokerMessage):
    """Set (or with ``leave``, drop) a client's presence on whichever node holds its stream;
    answered with a ``SubscribeResult``."""

    kind: ClassVar[str] = "presence"
    request_id: str = ""
    client_id: str = ""
    topic: str = ""
    state: Any = None
    auth: list[str] | None = None
    leave: bool = False
    ip: str = ""


@dataclass(frozen=True)
class ClientMessageResult(BrokerMessage):
    kind: ClassVar[str] = "client-message-result"
    request_id: str = ""
    delivered: bool = False


_KINDS: dict[str, type[BrokerMessage]] = {
    cls.kind: cls
    for cls in (
        SchemaChanged,
        SettingsChanged,
        RecordChanged,
        CustomMessage,
        SubscribeRequest,
        SubscribeResult,
        ClientMessageRequest,
        ClientMessageResult,
        PresenceRequest,
    )
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


_WIRE_FIELDS: dict[type[BrokerMessage], tuple[tuple[str, str, bool], ...]] = {}


def _wire_fields(cls: type[BrokerMessage]) -> tuple[tuple[str, str, bool], ...]:
    """Each field's name, its camelCase wire name, and whether it defaults to None: worked
    out once per class, since every record written sends a message."""
    found = _WIRE_FIELDS.get(cls)
    if found is None:
        found = _WIRE_FIELDS[cls] = tuple(
            (item.name, _camel(item.name), item.default is None) for item in dataclasses.fields(cls)
        )
    return found


def encode(message: BrokerMessage) -> dict[str, Any]:
    """The wire form: ``kind`` plus each field under its camelCase name."""
    wire: dict[str, Any] = {"kind": message.kind}
    for name, key, _ in _wire_fields(type(message)):
        wire[key] = getattr(message, name)
    return wire


def decode(wire: dict[str, Any]) -> BrokerMessage | None:
    """The message a wire object carries; None for an unknown kind or a malformed field."""
    cls = _KINDS.get(str(wire.get("kind")))
    if cls is None:
        return None
    values: dict[str, Any] = {}
    for name, key, defaults_to_none in _wire_fields(cls):
        if key in wire and wire[key] is not None:
            values[name] = wire[key]
        elif key in wire and defaults_to_none:
            values[name] = None
    try:
        message = cls(**values)
    except TypeError:
        return None
    return message if _well_typed(message) else None


def _well_typed(message: BrokerMessage) -> bool:
    """Only our nodes publish, but a message that would break a handler is dropped here."""
    if isinstance(message, RecordChanged):
        return isinstance(message.record, dict)
    if isinstance(message, SubscribeRequest):
        return isinstance(message.topics, list) and (
            message.auth is None or (isinstance(message.auth, list) and len(message.auth) == 2)
        )
    if isinstance(message, PresenceRequest):
        return message.auth is None or (isinstance(message.auth, list) and len(message.auth) == 2)
    if isinstance(message, SubscribeResult):
        return isinstance(message.status, int) and isinstance(message.data, dict)
    return True


M = TypeVar("M", bound=BrokerMessage)
Handler = Callable[[Any], Awaitable[None]]


class Dispatcher:
    """Calls the handler registered for each incoming message's class (one per class)."""

    def __init__(self) -> None:
        self._handlers: dict[type[BrokerMessage], Handler] = {}

    def on(self, cls: type[M], handler: Callable[[M], Awaitable[None]]) -> None:
        if cls in self._handlers:
            raise ValueError(f"a handler for {cls.__name__} is already registered")
        self._handlers[cls] = handler

    async def dispatch(self, wire: dict[str, Any]) -> None:
        message = decode(wire)
        if message is None:
            log.warning("broker message of unknown kind or shape skipped: %.200r", wire)
            return
        handler = self._handlers.get(type(message))
        if handler is not None:
            await handler(message)
