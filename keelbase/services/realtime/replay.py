"""The recent events of every topic, so a client that reconnects gets what it missed.

Every broadcast event (record changes, custom and presence messages) carries
an id chosen by the node that published it; every node hears every event in
the broker's one order and keeps the last ones here, by arrival. A client
reconnecting with ``Last-Event-ID`` is replayed what came after that id, on
its new subscriptions; when the id is no longer here (too old, too many since,
another node's connection) it is told to resync instead, never silently left behind.

The PB_CONNECT event carries the client id as its SSE id (the SDKs read it so);
the position of each recent connection is kept too, so that a client that
received nothing but PB_CONNECT can still resume.

The buffer is bounded three ways: by count (2,000 events), by age (5 minutes)
and by bytes (8 MB of event JSON by default, ``Config.realtime_replay_bytes``),
the oldest events going first; a reconnect from before the oldest kept event
is told to resync.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

MAX_EVENTS = 2000
MAX_BYTES = 8 * 1024 * 1024  # of event JSON; a few large records must not hold the node's memory
MAX_AGE = 300.0  # seconds an event stays replayable
MAX_REPLAY = 500  # more missed events than this: resync (they would not fit a client's queue)
MAX_CONNECTIONS = 10_000


@dataclass(frozen=True)
class Entry:
    seq: int
    id: str
    message: Any  # the broker message (RecordChanged or CustomMessage)
    at: float
    size: int = 0  # bytes counted against ``max_bytes``


class ReplayBuffer:
    def __init__(
        self,
        max_events: int = MAX_EVENTS,
        max_age: float = MAX_AGE,
        max_replay: int = MAX_REPLAY,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.max_replay = max_replay
        self._entries: deque[Entry] = deque()
        self._seq_of: dict[str, int] = {}
        self._connections: OrderedDict[str, int] = OrderedDict()
        self._seq = 0
        self.bytes = 0  # the sizes of the entries kept

    @property
    def last_id(self) -> str:
        return self._entries[-1].id if self._entries else ""

    def add(self, event_id: str, message: Any, size: int = 0) -> None:
        """Keep an event; ``size`` is its weight in bytes (its JSON's length)."""
        self._seq += 1
        self._entries.append(Entry(self._seq, event_id, message, time.monotonic(), size))
        self._seq_of[event_id] = self._seq
        self.bytes += size
        self._trim()

    def connected(self, client_id: str) -> None:
        """Remember where the stream stood when this client connected."""
        self._connections[client_id] = self._seq
        if len(self._connections) > MAX_CONNECTIONS:
            self._connections.popitem(last=False)

    def after(self, last_id: str) -> list[Entry] | None:
        """The events after ``last_id``; None when they cannot all be given (resync)."""
        self._trim()
        position = self._seq_of.get(last_id)
        if position is None:
            position = self._connections.get(last_id)
        if position is None:
            return None
        oldest = self._entries[0].seq if self._entries else self._seq + 1
        if position < oldest - 1:
            return None  # some events in between were dropped
        missed = [e for e in self._entries if e.seq > position]
        return missed if len(missed) <= self.max_replay else None

    def _trim(self) -> None:
        horizon = time.monotonic() - self.max_age
        entries = self._entries
        while entries and (
            len(entries) > self.max_events or self.bytes > self.max_bytes or entries[0].at < horizon
        ):
            dropped = entries.popleft()
            self.bytes -= dropped.size
            self._seq_of.pop(dropped.id, None)
