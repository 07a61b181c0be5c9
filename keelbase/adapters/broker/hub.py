"""The broker over the local hub: every worker of one ``keelbase serve`` hears every message once.

As with Redis, a worker does not deliver its own messages first: it hears them
back from the hub like every other worker, so each subscriber gets each event
exactly once and all workers see one order. While the hub is unreachable a
message is handled on this worker alone (its own subscribers still get it).
"""

from __future__ import annotations

from typing import Any

from keelbase.adapters.broker.base import Handler
from keelbase.adapters.hub.client import HubClient


class HubBroker:
    def __init__(self, client: HubClient) -> None:
        self.client = client
        self._handler: Handler | None = None

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        self.client.listen(handler)
        await self.client.start()

    async def publish(self, message: dict[str, Any]) -> None:
        assert self._handler is not None, "broker not started"
        if not await self.client.publish(message):
            await self._handler(message)

    async def close(self) -> None:
        await self.client.close()
