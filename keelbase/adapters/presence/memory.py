"""Presence in one process: a dict; entries die with the process."""

from __future__ import annotations

import time
from typing import Any


class MemoryPresence:
    def __init__(self) -> None:
        self._topics: dict[str, dict[str, tuple[dict[str, Any], float]]] = {}

    async def put(self, topic: str, key: str, value: dict[str, Any], ttl: float) -> bool:
        entries = self._topics.setdefault(topic, {})
        new = key not in entries
        entries[key] = (value, time.monotonic() + ttl)
        return new

    async def remove(self, topic: str, key: str) -> dict[str, Any] | None:
        entries = self._topics.get(topic, {})
        found = entries.pop(key, None)
        if not entries:
            self._topics.pop(topic, None)
        return found[0] if found else None

    async def members(self, topic: str) -> list[dict[str, Any]]:
        now = time.monotonic()
        return [v for v, expires in self._topics.get(topic, {}).values() if expires > now]

    async def refresh(self, entries: list[tuple[str, str]], ttl: float) -> None:
        expires = time.monotonic() + ttl
        for topic, key in entries:
            found = self._topics.get(topic, {}).get(key)
            if found is not None:
                self._topics[topic][key] = (found[0], expires)

    async def expired(self) -> list[tuple[str, dict[str, Any]]]:
        now = time.monotonic()
        gone: list[tuple[str, dict[str, Any]]] = []
        for topic, entries in list(self._topics.items()):
            for key, (value, expires) in list(entries.items()):
                if expires <= now:
                    del entries[key]
                    gone.append((topic, value))
            if not entries:
                del self._topics[topic]
        return gone

    async def close(self) -> None:
        self._topics.clear()
