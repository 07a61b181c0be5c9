"""A connection's writes held until the end of the loop's turn, then sent together.

uvicorn writes a response the moment the app sends it: the head, then the body,
each a ``send`` system call that, on loopback and on a busy server alike, also
wakes the client's thread. While the server works on the next request the
client sleeps again, so every answer costs a wake-up, and on a virtual machine
a wake-up of another core is dear: measured with ``wrk`` against one core, 13 %
of the server's CPU went to waking ``wrk`` (the kernel's ``sock_def_readable``).

Here a connection's writes are held until the loop's turn ends (``call_soon``),
then written in one piece per connection, all connections one after another: a
client with many connections wakes once for all the answers of that turn, and a
response's head and body leave in one segment. Record views went from 7,400 to
9,400 requests/s on one core (docs/benchmarks.md). Nothing is reordered (a
connection's bytes keep their order, whatever writes them), held bytes are
bounded (past ``HOLD_LIMIT`` they are written at once, after what was held), and
closing a connection writes what it holds first. Streams that write to the
connection directly (realtime) take the transport from ``unbatched``, which
writes what is held before handing it over.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("keelbase")

# A connection never holds more than this: a long body is written as it comes.
HOLD_LIMIT = 64 * 1024


class _Turn:
    """The connections with bytes held in this turn of one loop, written when it ends."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.holding: list[BatchedTransport] = []
        self.scheduled = False

    def hold(self, transport: BatchedTransport) -> None:
        self.holding.append(transport)
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.write_all)

    def write_all(self) -> None:
        self.scheduled = False
        holding, self.holding = self.holding, []
        for transport in holding:
            try:
                transport.flush()
            except Exception:  # one broken connection must not keep the others' answers
                log.exception("writing an answer failed; the connection is closed")
                transport.abort()


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turn] = weakref.WeakKeyDictionary()


def turn_of(loop: asyncio.AbstractEventLoop) -> _Turn:
    turn = _turns.get(loop)
    if turn is None:
        turn = _turns[loop] = _Turn(loop)
    return turn


class BatchedTransport:
    """A connection's transport whose writes wait for the end of the loop's turn."""

    __slots__ = ("_held", "_held_size", "_turn", "real")

    def __init__(self, real: asyncio.Transport, turn: _Turn) -> None:
        self.real = real
        self._turn = turn
        self._held: list[bytes] = []
        self._held_size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        size = self._held_size + len(data)
        if size > HOLD_LIMIT:
            self.flush()
            self.real.write(data)
            return
        if not self._held:
            self._turn.hold(self)
        self._held.append(bytes(data))
        self._held_size = size

    def flush(self) -> None:
        """Write what is held now (the turn's end, a close, a stream taking over)."""
        if not self._held:
            return
        held = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held = []
        self._held_size = 0
        if not self.real.is_closing():
            self.real.write(held)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def write_eof(self) -> None:
        self.flush()
        self.real.write_eof()

    def close(self) -> None:
        self.flush()
        self.real.close()

    def abort(self) -> None:
        self._held = []
        self._held_size = 0
        self.real.abort()

    def is_closing(self) -> bool:
        return self.real.is_closing()

    def get_write_buffer_size(self) -> int:
        return self.real.get_write_buffer_size() + self._held_size

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.real.get_extra_info(name, default)

    def __getattr__(self, name: str) -> Any:
        # pause_reading, resume_reading, set_protocol...: the connection's own
        return getattr(self.real, name)


def unbatched(transport: Any) -> Any:
    """The connection's own transport, for a stream that writes to it directly from now on:
    what is held is written first, so nothing it writes overtakes it."""
    if isinstance(transport, BatchedTransport):
        transport.flush()
        return transport.real
    return transport
