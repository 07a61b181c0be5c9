"""Presence: who is on a custom topic, with a small state each, and join/leave events.

A client on a topic sets its presence (``POST /api/realtime/presence``); its
entry is the auth record it is signed in as (or none), the state it sent and a
``key`` derived from its client id (the client id itself is a capability and
never shown). Changes are published on the derived topic ``presence:<topic>``
to every node's subscribers. An entry goes when its client leaves the topic or
its stream ends; entries of a node that died expire, being refreshed by their
node every ``refresh_every`` seconds only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from keelbase.adapters.presence.base import PresenceStore
from keelbase.core.dates import now_string
from keelbase.errors import BadRequestError, field_error
from keelbase.services.realtime.channels import PRESENCE_PREFIX
from keelbase.services.realtime.clients import Client

log = logging.getLogger("keelbase.realtime")

PRESENCE_TTL = 60.0
REFRESH_EVERY = 20.0
MAX_STATE_BYTES = 1024

Publish = Callable[[str, Any], Awaitable[None]]


def presence_key(client_id: str) -> str:
    return hashlib.sha256(client_id.encode()).hexdigest()[:16]


def check_state(state: Any) -> dict[str, Any]:
    if state is None:
        return {}
    if not isinstance(state, dict) or len(orjson.dumps(state)) > MAX_STATE_BYTES:
        raise BadRequestError(
            data={"state": field_error(
                "validation_invalid_state",
                f"Must be a JSON object of at most {MAX_STATE_BYTES} bytes.",
                {"max": MAX_STATE_BYTES},
            )}
        )  # fmt: skip
    return state


class Presence:
    def __init__(self, store: PresenceStore, publish: Publish) -> None:
        self.store = store
        self._publish = publish
        self.ttl = PRESENCE_TTL
        self.refresh_every = REFRESH_EVERY
        # This node's entries: (topic, key) → client id, refreshed while the client is here.
        self.local: dict[tuple[str, str], str] = {}
        self._task: asyncio.Task[None] | None = None

    async def join(self, client: Client, topic: str, state: dict[str, Any]) -> None:
        key = presence_key(client.id)
        auth = client.auth
        joined = client.presence.get(topic) or now_string()
        value = {
            "key": key,
            "auth": {"collectionId": auth.collection.id, "id": auth.id} if auth else None,
            "state": state,
            "joined": joined,
        }
        new = await self.store.put(topic, key, value, self.ttl)
        client.presence[topic] = joined
        self.local[(topic, key)] = client.id
        await self._announce("join" if new else "update", topic, value)

    async def leave(self, client: Client, topic: str) -> bool:
        if client.presence.pop(topic, None) is None:
            return False
        key = presence_key(client.id)
        self.local.pop((topic, key), None)
        value = await self.store.remove(topic, key)
        if value is not None:
            await self._announce("leave", topic, value)
        return True

    async def leave_all(self, client: Client, keep: set[str] | None = None) -> None:
        for topic in list(client.presence):
            if keep is None or topic not in keep:
                await self.leave(client, topic)

    async def members(self, topic: str) -> list[dict[str, Any]]:
        return await self.store.members(topic)

    async def _announce(self, action: str, topic: str, value: dict[str, Any]) -> None:
        await self._publish(PRESENCE_PREFIX + topic, {"action": action, "topic": topic, **value})

    # Keeping entries alive, and sweeping those of dead nodes -------------------

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._heartbeat(), name="keelbase-presence")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_every)
            try:
                await self.sweep()
            except Exception:
                log.exception("refreshing realtime presence failed")

    async def sweep(self) -> None:
        await self.store.refresh(list(self.local), self.ttl)
        for topic, value in await self.store.expired():
            await self._announce("leave", topic, value)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.store.close()
