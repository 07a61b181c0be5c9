"""One SSE client: its auth, its subscriptions and a bounded queue of messages.

A client that stops reading fills its queue and is dropped (the SDK reconnects
and subscribes again) instead of growing memory without bound. The queue is
bounded both in messages and in bytes: a thousand events of large records would
otherwise hold hundreds of megabytes for one stalled client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from keelbase.core.ids import random_string
from keelbase.core.records.record import Record
from keelbase.services.metrics.meter import Meter
from keelbase.services.realtime.subscriptions import Subscription

log = logging.getLogger("keelbase.realtime")
QUEUE_LIMIT = 1000
QUEUE_BYTES = 8 << 20  # queued event data per client before it counts as not reading


@dataclass
class Message:
    name: str
    data: str


PING = Message("", "")  # a keep-alive comment, not an event


class Client:
    def __init__(self, queue_limit: int = QUEUE_LIMIT, meter: Meter | None = None) -> None:
        self.id = random_string(40)
        self.meter = meter or Meter()
        self.auth: Record | None = None
        self.subscriptions: dict[str, Subscription] = {}
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue(queue_limit)
        self.discarded = False
        self.last_message = time.monotonic()
        self.queue_bytes_limit = QUEUE_BYTES
        self.queued_bytes = 0  # data in the queue, less what the stream has taken

    def send(self, name: str, data: str) -> None:
        if self.discarded:
            return
        try:
            if self.queued_bytes + len(data) > self.queue_bytes_limit and self.queue.qsize():
                raise asyncio.QueueFull
            self.queue.put_nowait(Message(name, data))
            self.queued_bytes += len(data)
        except asyncio.QueueFull:
            log.warning("realtime client %s stopped reading; dropping it", self.id)
            # this message and those still queued are lost
            self.meter.realtime_dropped(1 + self.queue.qsize())
            self.close()

    def close(self) -> None:
        """End the stream (the queue is emptied so the end marker always fits)."""
        if self.discarded:
            return
        self.discarded = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queued_bytes = 0
        self.queue.put_nowait(None)

    def taken(self, message: Message) -> None:
        """The stream took ``message`` from the queue: its bytes no longer count."""
        self.queued_bytes = max(0, self.queued_bytes - len(message.data))
