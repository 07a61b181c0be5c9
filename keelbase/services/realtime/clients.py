"""One SSE client: its auth, its subscriptions and a bounded queue of messages.

A client that stops reading fills its queue and is dropped (the SDK reconnects
and subscribes again) instead of growing memory without bound. The queue is
bounded both in messages and in bytes: a thousand events of large records would
otherwise hold hundreds of megabytes for one stalled client.

When the HTTP layer can write to the client's connection directly (a ``Sink``),
messages skip the queue: each is written at once, its encoded bytes shared by
every client it goes to, and the connection's unsent bytes stand for the queue's
(a client with more than the byte bound unsent is dropped the same way).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from keelbase.core.ids import random_string
from keelbase.core.records.record import Record
from keelbase.services.metrics.meter import Meter
from keelbase.services.realtime.subscriptions import Subscription

log = logging.getLogger("keelbase.realtime")
QUEUE_LIMIT = 1000
QUEUE_BYTES = 8 << 20  # queued event data per client before it counts as not reading


@dataclass(eq=False)
class Message:
    name: str
    data: str
    id: str = ""  # the event's id (for Last-Event-ID); the client id when empty
    # What a sink made of it (its framed bytes), kept for the next client it goes to.
    framed: bytes | None = field(default=None, repr=False)

    def event(self, client_id: str) -> bytes:
        """The SSE bytes of this message for one client."""
        if self is PING:
            return b":\n\n"
        return f"id:{self.id or client_id}\nevent:{self.name}\ndata:{self.data}\n\n".encode()


class Sink(Protocol):
    """A client's connection, written to directly (set by the HTTP layer)."""

    def write(self, message: Message, client_id: str) -> None: ...

    def unsent(self) -> int:
        """Bytes written but not yet taken by the peer."""
        ...

    def end(self) -> None:
        """Finish the stream (the client was closed)."""
        ...

    def drop(self) -> None:
        """Cut the connection, unsent bytes and all (the client stopped reading)."""
        ...


PING = Message("", "")  # a keep-alive comment, not an event


class Client:
    def __init__(self, queue_limit: int = QUEUE_LIMIT, meter: Meter | None = None) -> None:
        self.id = random_string(40)
        self.meter = meter or Meter()
        # The address its stream came from: only requests from there may change its
        # subscriptions (as PocketBase: a guessed client id is no use from elsewhere).
        self.ip = ""
        self.auth: Record | None = None
        self.subscriptions: dict[str, Subscription] = {}
        # Made when first used: a stream written through a sink never needs one (3 kB each).
        self._queue: asyncio.Queue[Message | None] | None = None
        self.queue_limit = queue_limit
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
        # Set once the stream writes to the connection itself: messages go there, not the queue.
        self.sink: Sink | None = None

    @property
    def queue(self) -> asyncio.Queue[Message | None]:
        if self._queue is None:
            self._queue = asyncio.Queue(self.queue_limit)
        return self._queue

    def send(self, name: str, data: str, event_id: str = "") -> None:
        self.send_message(Message(name, data, event_id))

    def send_message(self, message: Message, now: float | None = None) -> bool:
        """A live message (held back while a replay runs); it may be shared with other clients.

        True when it was written to the connection at once: the caller that sends one
        event to many clients counts those (and reads the clock, ``now``) once for all."""
        if self.held is not None:
            self.held.append(message)
            return False
        return self._put(message, time.monotonic() if now is None else now)

    def put(self, message: Message) -> None:
        if self._put(message, time.monotonic()):
            self.meter.realtime_sent()

    def _put(self, message: Message, now: float) -> bool:
        """Write or queue one message; True when written to the sink (not a ping)."""
        if self.discarded:
            return False
        sink = self.sink
        if sink is not None:
            unsent = sink.unsent()
            if unsent and unsent + len(message.data) > self.queue_bytes_limit:
                log.warning("realtime client %s stopped reading; dropping it", self.id)
                self.meter.realtime_dropped(1)
                sink.drop()
                self.close()
                return False
            sink.write(message, self.id)
            if message is PING:
                return False
            self.last_message = now
            return True
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
        return False

    def close(self) -> None:
        """End the stream (the queue is emptied so the end marker always fits)."""
        if self.discarded:
            return
        self.discarded = True
        if self.sink is not None:
            self.sink.end()
            return
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queued_bytes = 0
        self.queue.put_nowait(None)

    def attach(self, sink: Sink) -> None:
        """From now on write to ``sink``; what was queued goes first, in order."""
        while self._queue is not None and not self._queue.empty():
            message = self.queue.get_nowait()
            if message is None:
                return  # closed meanwhile
            self.taken(message)
            sink.write(message, self.id)
        self.sink = sink

    def idle(self) -> bool:
        """Nothing waits to be sent (a keep-alive comment is due on a quiet stream)."""
        if self.sink is not None:
            return self.sink.unsent() == 0
        return self._queue is None or self._queue.empty()

    def taken(self, message: Message) -> None:
        """The stream took ``message`` from the queue: its bytes no longer count."""
        self.queued_bytes = max(0, self.queued_bytes - len(message.data))
