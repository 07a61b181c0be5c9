"""The in-process broker: one process, one app; messages go straight to the handler, in order."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from keelbase.adapters.broker.base import Handler

log = logging.getLogger("keelbase.broker")


class LocalBroker:
    """Delivers through one queue and one task, so publishing never waits for slow delivery
    and messages keep their publish order."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[dict[str, Any] | None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, handler: Handler) -> None:
        self._queue = asyncio.Queue()  # made here: it belongs to the loop that serves
        self._task = asyncio.create_task(self._deliver(handler), name="keelbase-broker")

    async def _deliver(self, handler: Handler) -> None:
        assert self._queue is not None
        while (message := await self._queue.get()) is not None:
            try:
                await handler(message)
            except Exception:
                log.exception("delivering a broker message failed")

    async def publish(self, message: dict[str, Any]) -> None:
        if self._queue is not None:
            self._queue.put_nowait(message)

    async def close(self) -> None:
        if self._task is not None and self._queue is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None
