"""The hub's server side: one asyncio loop in the ``keelbase serve`` supervisor process.

Every worker holds one connection. A published message is written to every
connection, the sender's too, in the order the hub read them, so each worker
hears each message once and all workers hear them in one order, as with Redis
pub/sub. Counters, presence entries and figure buckets live in the hub's memory
(the in-process adapters, shared); the hub runs one call at a time, so each
call is atomic across workers.

A worker that stops reading (its loop blocked) must not hold the others back
or grow the hub's memory without bound: once more than
``MAX_BACKLOG`` bytes wait for it, the hub drops its connection (logged). The
worker notices, logs once, reconnects, and misses what was queued for it, as a
Redis pub/sub client does past Redis's output buffer limit. (A worker whose
handler is stuck reads on and bounds its own inbox: see ``client.py``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections import deque
from typing import Any

import orjson

from keelbase.adapters.counters.memory import MemoryCounters
from keelbase.adapters.figures.memory import MemoryBuckets
from keelbase.adapters.hub.framing import (
    CALL,
    HELLO,
    MESSAGE,
    PUBLISH,
    RESULT,
    FrameTooLarge,
    frame,
    read_frame,
)
from keelbase.adapters.presence.memory import MemoryPresence

log = logging.getLogger("keelbase.hub")
MAX_BACKLOG = 64 << 20  # bytes queued for one worker before the hub drops it


class HubServer:
    def __init__(self, path: str, max_backlog: int = MAX_BACKLOG) -> None:
        self.path = path
        self.max_backlog = max_backlog
        self.dropped = 0  # connections dropped for not reading
        self._writers: set[asyncio.StreamWriter] = set()
        self._counters: dict[str, MemoryCounters] = {}
        self._presence = MemoryPresence()
        self._buckets = MemoryBuckets()
        self._server: asyncio.AbstractServer | None = None
        # Write turns per SQLite file: the connection holding it, and those waiting, in order.
        self._turns: dict[
            str, tuple[list[asyncio.StreamWriter | None], deque[tuple[asyncio.StreamWriter, int]]]
        ] = {}

    @property
    def connections(self) -> int:
        return len(self._writers)

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=self.path)
        os.chmod(self.path, 0o600)  # the folder is 0700 already; the socket is ours alone too

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            _hang_up(writer)
        self._writers.clear()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._send(writer, frame(HELLO, orjson.dumps({"pid": os.getpid()})))
        self._writers.add(writer)
        try:
            while True:
                kind, body = await read_frame(reader)
                if kind == PUBLISH:
                    data = frame(MESSAGE, body)
                    for each in list(self._writers):
                        self._send(each, data)
                elif kind == CALL:
                    await self._on_call(writer, body)
                else:
                    log.warning("hub frame of unknown kind %r; closing that connection", kind)
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker went away; it reconnects if it lives
        except FrameTooLarge as error:
            log.error("%s; closing that connection", error)
        finally:
            self._writers.discard(writer)
            _hang_up(writer)
            for name in list(self._turns):
                self._give_back(writer, name)  # a worker that died holding a turn

    def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Queue ``data`` for one worker without waiting; drop the worker past its backlog."""
        if writer.transport.is_closing():
            return
        writer.write(data)
        if writer.transport.get_write_buffer_size() > self.max_backlog:
            self.dropped += 1
            log.error(
                "a worker left more than %d bytes of hub messages unread; dropping its "
                "connection (it reconnects, and misses what was queued)",
                self.max_backlog,
            )
            self._writers.discard(writer)
            _hang_up(writer)

    async def _on_call(self, writer: asyncio.StreamWriter, body: bytes) -> None:
        """Answer one call; a write turn is answered when it is granted (others go on meanwhile)."""
        call_id: Any = None
        try:
            call_id, operation, *args = orjson.loads(body)
            if operation == "take":
                self._take(writer, int(call_id), str(args[0]))
                return
            if operation == "give-back":
                self._give_back(writer, str(args[0]))
                return
            value = await self._call(str(operation), args)
        except Exception as error:  # a bad call fails alone; the hub goes on
            log.warning("hub call failed: %s", error)
            self._send(writer, frame(RESULT, orjson.dumps([call_id, False, str(error)])))
            return
        self._send(writer, frame(RESULT, orjson.dumps([call_id, True, value])))

    def _take(self, writer: asyncio.StreamWriter, call_id: int, name: str) -> None:
        holder, waiting = self._turns.setdefault(name, ([None], deque()))
        if holder[0] is None:
            holder[0] = writer
            self._send(writer, frame(RESULT, orjson.dumps([call_id, True, True])))
        else:
            waiting.append((writer, call_id))

    def _give_back(self, writer: asyncio.StreamWriter, name: str) -> None:
        """The holder's turn ends (the next waiting gets it), or a waiting request is withdrawn."""
        turns = self._turns.get(name)
        if turns is None:
            return
        holder, waiting = turns
        if holder[0] is not writer:
            kept = [entry for entry in waiting if entry[0] is not writer]
            waiting.clear()
            waiting.extend(kept)
            return
        holder[0] = None
        while waiting:
            next_writer, call_id = waiting.popleft()
            if next_writer in self._writers and not next_writer.transport.is_closing():
                holder[0] = next_writer
                self._send(next_writer, frame(RESULT, orjson.dumps([call_id, True, True])))
                return
        del self._turns[name]

    def _space(self, name: str) -> MemoryCounters:
        counters = self._counters.get(name)
        if counters is None:
            counters = self._counters[name] = MemoryCounters()
        return counters

    async def _call(self, operation: str, args: list[Any]) -> Any:
        if operation == "consume":
            space, key, limit, interval = args
            return await self._space(space).consume(str(key), int(limit), int(interval))
        if operation == "hit":
            space, key, window = args
            return await self._space(space).hit(str(key), int(window))
        if operation == "count":
            space, key = args
            return await self._space(space).count(str(key))
        if operation == "reset":
            space, key = args
            return await self._space(space).reset(str(key))
        if operation == "put":
            topic, key, value, ttl = args
            return await self._presence.put(str(topic), str(key), dict(value), float(ttl))
        if operation == "remove":
            topic, key = args
            return await self._presence.remove(str(topic), str(key))
        if operation == "members":
            (topic,) = args
            return await self._presence.members(str(topic))
        if operation == "refresh":
            entries, ttl = args
            pairs = [(str(topic), str(key)) for topic, key in entries]
            return await self._presence.refresh(pairs, float(ttl))
        if operation == "expired":
            return await self._presence.expired()
        if operation == "add":
            (batch,) = args
            await self._buckets.add([(str(k), dict(v), int(t)) for k, v, t in batch])
            return None
        if operation == "read":
            (keys,) = args
            return await self._buckets.read([str(k) for k in keys])
        if operation == "ping":
            return True
        raise ValueError(f"unknown hub operation {operation!r}")


def _hang_up(writer: asyncio.StreamWriter) -> None:
    """Close a worker's connection so that the worker sees it end.

    Workers are forked from this process, so each holds copies of the hub's side
    of the connections made before it was born; closing this descriptor alone
    would leave the socket open through those. ``shutdown`` ends the socket itself.
    """
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    writer.transport.abort()


class HubThread:
    """A ``HubServer`` on its own loop in a daemon thread of the calling process.

    ``keelbase serve`` runs it beside uvicorn's supervisor, which keeps the main
    thread; the hub lives exactly as long as the supervisor process.
    """

    def __init__(self, path: str) -> None:
        self.server = HubServer(path)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="keelbase-hub", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the local hub did not start")
        if self._error is not None:
            raise RuntimeError(f"the local hub did not start: {self._error}") from self._error

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.server.start()
        except BaseException as error:
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.close()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=5)
