"""Presence in the local hub, shared by every worker of one ``keelbase serve``.

The hub keeps the entries (``MemoryPresence``) and runs one call at a time, so
a join, a leave and an expiry each reach exactly one caller. While the hub is
unreachable a worker keeps its clients' presence in its own memory.
"""

from __future__ import annotations

from typing import Any

from keelbase.adapters.hub.client import HubClient, HubUnavailable
from keelbase.adapters.presence.memory import MemoryPresence


class HubPresence:
    def __init__(self, client: HubClient) -> None:
        self.client = client
        self._local = MemoryPresence()

    async def _call(self, *call: Any) -> tuple[bool, Any]:
        if self.client.connected:
            try:
                return True, await self.client.call(*call)
            except HubUnavailable:
                pass
        return False, None

    async def put(self, topic: str, key: str, value: dict[str, Any], ttl: float) -> bool:
        shared, answer = await self._call("put", topic, key, value, ttl)
        return bool(answer) if shared else await self._local.put(topic, key, value, ttl)

    async def remove(self, topic: str, key: str) -> dict[str, Any] | None:
        shared, answer = await self._call("remove", topic, key)
        local = await self._local.remove(topic, key)
        return (dict(answer) if answer is not None else None) if shared else local

    async def members(self, topic: str) -> list[dict[str, Any]]:
        shared, answer = await self._call("members", topic)
        return [dict(v) for v in answer] if shared else await self._local.members(topic)

    async def refresh(self, entries: list[tuple[str, str]], ttl: float) -> None:
        if entries:
            await self._call("refresh", [list(e) for e in entries], ttl)
            await self._local.refresh(entries, ttl)

    async def expired(self) -> list[tuple[str, dict[str, Any]]]:
        shared, answer = await self._call("expired")
        gone = await self._local.expired()
        if shared:
            gone += [(str(topic), dict(value)) for topic, value in answer]
        return gone

    async def close(self) -> None:
        await self._local.close()
