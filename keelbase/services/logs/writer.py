"""The queue between whoever logs and the logs table: bounded, batched, off the request path.

``add`` only appends to a deque: no I/O, no encoding, no await, so a request
pays next to nothing for being logged. A background task takes what has
queued every ``interval`` seconds (sooner once ``batch_size`` entries wait),
turns the items into rows and writes them in one transaction. When the queue
is full, new items are dropped and counted, never waited for: a slow disk
must not slow requests down. ``stop`` writes whatever is still queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

# The bridge from Python logging skips this logger (see ``logger.LoggingBridge``):
# a failing write must not queue an entry about itself, forever.
log = logging.getLogger("keelbase.logs")

Rows = list[tuple[str, int, str, str, str]]
Encode = Callable[[list[Any]], Awaitable[Rows]]
Write = Callable[[Rows], Awaitable[None]]


class LogWriter:
    def __init__(
        self,
        encode: Encode,
        write: Write,
        *,
        interval: float = 1.0,
        batch_size: int = 500,
        max_queued: int = 20_000,
    ) -> None:
        self._encode = encode
        self._write = write
        self.interval = interval
        self.batch_size = batch_size
        self.max_queued = max_queued
        self._queue: deque[Any] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flushing = asyncio.Lock()
        self._stopping = False
        self.dropped = 0  # items refused because the queue was full
        self.failed = 0  # items lost because their batch could not be written
        self.written = 0

    @property
    def queued(self) -> int:
        return len(self._queue)

    def add(self, item: Any) -> None:
        """Queue one item (an entry, or what becomes one when the batch is written)."""
        queue = self._queue
        if len(queue) >= self.max_queued:
            self.dropped += 1
            return
        queue.append(item)
        if len(queue) == self.batch_size and self._wake is not None:
            self._wake_up()

    def _wake_up(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:  # from another thread (a log record of an executor thread)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def start(self) -> None:
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._flushing = asyncio.Lock()
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="keelbase-logs-writer")

    async def stop(self) -> None:
        """Write what is queued and end the task; a batch being written is finished, not cut."""
        if self._task is not None:
            self._stopping = True
            if self._wake is not None:
                self._wake.set()
            await self._task
            self._task = None
        await self.flush()
        self._wake = None
        self._loop = None

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write everything queued so far (tests call it to see entries at once)."""
        async with self._flushing:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), 5000))]
                try:
                    rows = await self._encode(batch)
                    if rows:
                        await self._write(rows)
                    self.written += len(rows)
                except Exception:
                    self.failed += len(batch)
                    log.exception("writing %d log entries failed; they are lost", len(batch))
