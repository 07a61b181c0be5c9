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
    id: str = ""  # the event's id (for Last-Event-ID); the client id when empty


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
        # Last-Event-ID it reconnected with: replayed from there at its first subscription.
        self.resume_from: str | None = None
        # While missed events are replayed, live ones wait here (then go, duplicates skipped).
        self.held: list[Message] | None = None
        # Custom topics it is present on, with when it joined each.
        self.presence: dict[str, str] = {}
        self.queue_bytes_limit = QUEUE_BYTES
        self.queued_bytes = 0  # data in the queue, less what the stream has taken

    def send(self, name: str, data: str, event_id: str = "") -> None:
        if self.held is not None:
            self.held.append(Message(name, data, event_id))
            return
        self.put(Message(name, data, event_id))

    def put(self, message: Message) -> None:
        if self.discarded:
            return
        try:
            if (
                self.queued_bytes + len(message.data) > self.queue_bytes_limit
                and self.queue.qsize()
            ):
                raise asyncio.QueueFull
            self.queue.put_nowait(message)
            self.queued_bytes += len(message.data)
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
