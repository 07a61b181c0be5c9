"""The broker interface: publish a JSON-able message; every subscribed node handles it once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class Broker(Protocol):
    async def start(self, handler: Handler) -> None:
        """Begin delivering every published message (from any node) to ``handler``, in order."""
        ...

    async def publish(self, message: dict[str, Any]) -> None: ...

    async def close(self) -> None: ...
