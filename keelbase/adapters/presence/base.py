"""The presence store: entries per topic and key, each alive until its expiry is refreshed."""

from __future__ import annotations

from typing import Any, Protocol


class PresenceStore(Protocol):
    async def put(self, topic: str, key: str, value: dict[str, Any], ttl: float) -> bool:
        """Set the entry; True when it is new (a join), False for an update."""
        ...

    async def remove(self, topic: str, key: str) -> dict[str, Any] | None:
        """Drop the entry; its value when it was there (exactly one caller gets it)."""
        ...

    async def members(self, topic: str) -> list[dict[str, Any]]:
        """The live entries of a topic, oldest first."""
        ...

    async def refresh(self, entries: list[tuple[str, str]], ttl: float) -> None:
        """Push back the expiry of these (topic, key) entries (the node holding them lives)."""
        ...

    async def expired(self) -> list[tuple[str, dict[str, Any]]]:
        """Drop entries whose node stopped refreshing them; each (topic, value) is returned
        to exactly one caller across nodes, which announces the leave."""
        ...

    async def close(self) -> None: ...
