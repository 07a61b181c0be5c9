"""Who may broadcast to a custom topic, and what a broadcast may carry.

A broadcast is a message a client sends to everyone subscribed to a custom
topic (a chat room) without storing it. It passes the same guards as
subscribing to the topic, and then needs an explicit allow: a topic nobody
allowed refuses broadcasts (403), so adding a guard for subscriptions never
opens a topic to writes by accident. Superusers may broadcast to any custom topic.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from keelbase.core.records.record import Record
from keelbase.errors import BadRequestError, ForbiddenError, field_error, required_error
from keelbase.services.realtime.subscriptions import MAX_TOPIC_LENGTH

if TYPE_CHECKING:
    from keelbase.services.realtime.clients import Client

MAX_BROADCAST_BYTES = 16 * 1024
PRESENCE_PREFIX = "presence:"  # derived topics the server publishes on, never clients

Guard = Callable[["Client", str], bool | Awaitable[bool]]
BroadcastCheck = Callable[[Record | None, str, Any], bool | Awaitable[bool]]


async def passes(check: Callable[..., bool | Awaitable[bool]], *args: Any) -> bool:
    allowed = check(*args)
    if inspect.isawaitable(allowed):
        allowed = await allowed
    return bool(allowed)


def check_custom_topic(topic: Any, is_collection: Callable[[str], bool]) -> str:
    """A custom topic clients may address; a 400 naming ``topic`` otherwise."""
    if not isinstance(topic, str) or not topic:
        raise BadRequestError(data={"topic": required_error()})
    if (
        len(topic) > MAX_TOPIC_LENGTH
        or not topic.isprintable()
        or "?options=" in topic
        or topic.startswith(("@", PRESENCE_PREFIX))
        or is_collection(topic)
    ):
        raise BadRequestError(
            data={"topic": field_error("validation_invalid_topic", "Must name a custom topic.")}
        )
    return topic


def encode_broadcast(data: Any, limit: int = MAX_BROADCAST_BYTES) -> bytes:
    encoded = orjson.dumps(data)
    if len(encoded) > limit:
        raise BadRequestError(
            data={
                "data": field_error(
                    "validation_too_large",
                    f"A broadcast holds at most {limit} bytes of JSON.",
                    {"max": limit},
                )
            }
        )
    return encoded


async def check_broadcast(
    client: Client,
    topic: str,
    data: Any,
    is_superuser: bool,
    guards: list[Guard],
    allows: list[BroadcastCheck],
) -> None:
    for guard in guards:
        if not await passes(guard, client, topic):
            raise ForbiddenError(f"You are not allowed to broadcast to {topic!r}.")
    if is_superuser:
        return
    for allow in allows:
        if await passes(allow, client.auth, topic, data):
            return
    raise ForbiddenError(f"You are not allowed to broadcast to {topic!r}.")
