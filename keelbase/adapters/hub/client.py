"""A worker's one connection to the local hub, shared by the hub adapters.

Calls are answered by id, so many may be in flight; published messages come
back as they arrive and go through a local queue to the broker's handler, so a
slow handler never holds back the answers to calls. Nothing here blocks the
loop: writes are queued on the transport, and a call waits at most
``CALL_TIMEOUT`` before the adapter falls back to this worker alone.

When the connection is lost the worker logs it once, keeps serving alone (the
adapters fall back to their in-process versions) and reconnects every
``RETRY_DELAY`` seconds, logging once more when it is back.

Messages wait for the handler in an inbox of at most ``MAX_INBOX`` bytes: a
handler stuck or slower than the messages come does not grow the worker's
memory without bound. Past it, messages are dropped (logged once per spell)
while calls are still answered, as the hub drops a worker that stops reading. When the hub was
this worker's parent (the ``keelbase serve`` supervisor) and that parent is
gone (this process was handed to another parent), the worker stops itself (SIGTERM, a graceful shutdown): no supervisor
would restart it or stop it later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

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

log = logging.getLogger("keelbase.hub")
CALL_TIMEOUT = 1.0
TURN_TIMEOUT = 5.0  # waiting for a write turn, before SQLite's own lock decides
CONNECT_TIMEOUT = 5.0  # at start, before a worker serves alone
RETRY_DELAY = 0.5
MAX_INBOX = 64 << 20  # bytes of messages waiting for the handler before more are dropped

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class HubUnavailable(Exception):
    """The hub cannot answer now (not connected, lost, or too slow)."""


class HubClient:
    def __init__(self, path: str, supervisor: int = 0) -> None:
        self.path = path
        # The pid of the ``keelbase serve`` supervisor that runs the hub and started this
        # worker (0: none, as when the hub runs in the same process): once this process's
        # parent is no longer that one, the supervisor is gone.
        self.supervisor = supervisor
        self._writer: asyncio.StreamWriter | None = None
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._handler: Handler | None = None
        self._inbox: asyncio.Queue[bytes | None] | None = None
        self._connected: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._delivery: asyncio.Task[None] | None = None
        self._down = False
        self.max_inbox = MAX_INBOX
        self._inbox_bytes = 0
        self.dropped = 0  # messages dropped for a full inbox
        self._dropping = False

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    def listen(self, handler: Handler) -> None:
        """Deliver every published message (every worker's, this one's too) to ``handler``."""
        self._handler = handler
        self._inbox = asyncio.Queue()
        self._delivery = asyncio.create_task(self._deliver(handler), name="keelbase-hub-delivery")

    async def start(self) -> None:
        """Connect (waiting up to ``CONNECT_TIMEOUT``); later losses reconnect by themselves."""
        if self._task is not None:
            return
        self._connected = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="keelbase-hub-client")
        try:
            await asyncio.wait_for(self._connected.wait(), CONNECT_TIMEOUT)
        except TimeoutError:
            log.error("the local hub at %s did not answer; serving alone until it does", self.path)

    async def _run(self) -> None:
        assert self._connected is not None
        while True:
            error: BaseException | str = "closed"
            try:
                reader, writer = await asyncio.open_unix_connection(self.path)
                try:
                    # a listening socket kept open by a dead hub's forked copies
                    # accepts no one: without a greeting in time (TimeoutError is an
                    # OSError), try again
                    async with asyncio.timeout(CONNECT_TIMEOUT):
                        kind, _hello = await read_frame(reader)
                    if kind != HELLO:
                        raise ConnectionError("the hub did not greet")
                    self._writer = writer
                    self._connected.set()
                    if self._down:
                        self._down = False
                        log.warning("the local hub is back; workers share events and limits again")
                    await self._read(reader)
                finally:
                    writer.transport.abort()
            except asyncio.CancelledError:
                raise
            except (OSError, asyncio.IncompleteReadError, FrameTooLarge, ValueError) as lost:
                error = lost
            self._lost(error)
            if self.supervisor and os.getppid() != self.supervisor:
                log.error("the keelbase serve supervisor is gone; this worker stops")
                os.kill(os.getpid(), signal.SIGTERM)
                return
            await asyncio.sleep(RETRY_DELAY)

    def _lost(self, error: BaseException | str) -> None:
        self._writer = None
        if self._connected is not None:
            self._connected.clear()
        calls, self._calls = self._calls, {}
        for future in calls.values():
            if not future.done():
                future.set_exception(HubUnavailable(str(error)))
        if not self._down:
            self._down = True
            log.error(
                "lost the local hub (%s); this worker serves alone (its own events, its own "
                "limits) and reconnects every %ss",
                error or "closed",
                RETRY_DELAY,
            )

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            kind, body = await read_frame(reader)
            if kind == MESSAGE:
                if self._inbox is not None:
                    self._queue(body)
            elif kind == RESULT:
                call_id, ok, value = orjson.loads(body)
                future = self._calls.pop(call_id, None)
                if future is not None and not future.done():
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(HubUnavailable(f"the hub refused the call: {value}"))

    def _queue(self, body: bytes) -> None:
        assert self._inbox is not None
        if self._inbox_bytes + len(body) > self.max_inbox:
            self.dropped += 1
            if not self._dropping:
                self._dropping = True
                log.error(
                    "this worker's broker handler is behind by more than %d bytes of hub "
                    "messages; dropping new ones until it catches up",
                    self.max_inbox,
                )
            return
        self._dropping = False
        self._inbox_bytes += len(body)
        self._inbox.put_nowait(body)

    async def _deliver(self, handler: Handler) -> None:
        assert self._inbox is not None
        while (body := await self._inbox.get()) is not None:
            self._inbox_bytes -= len(body)
            try:
                await handler(orjson.loads(body))
            except Exception:
                log.exception("delivering a broker message failed")

    async def publish(self, message: dict[str, Any]) -> bool:
        """Send ``message`` to every worker; False when it could not go (deliver it here)."""
        writer = self._writer
        if writer is None or writer.is_closing():
            return False
        try:
            data = frame(PUBLISH, orjson.dumps(message))
        except FrameTooLarge as error:
            log.error("%s; delivered on this worker only", error)
            return False
        writer.write(data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()  # waits only past the transport's high-water mark
        return True

    async def call(self, operation: str, *args: Any) -> Any:
        """The hub's answer to one operation; ``HubUnavailable`` when it cannot give one now."""
        writer = self._writer
        if writer is None or writer.is_closing():
            raise HubUnavailable("not connected")
        self._next_id += 1
        call_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = future
        try:
            writer.write(frame(CALL, orjson.dumps([call_id, operation, *args])))
            return await asyncio.wait_for(future, CALL_TIMEOUT)
        except TimeoutError as error:
            raise HubUnavailable(f"no answer within {CALL_TIMEOUT}s") from error
        finally:
            self._calls.pop(call_id, None)

    async def take(self, name: str) -> bool:
        """This worker's turn at writing the SQLite file ``name`` (see ``store.sqlite.WriteTurns``).

        ``False`` when the hub is away or the turn is not granted within
        ``TURN_TIMEOUT`` (the request is then withdrawn): SQLite's lock decides.
        """
        writer = self._writer
        if writer is None or writer.is_closing():
            return False
        self._next_id += 1
        call_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = future
        try:
            writer.write(frame(CALL, orjson.dumps([call_id, "take", name])))
            return bool(await asyncio.wait_for(future, TURN_TIMEOUT))
        except (TimeoutError, HubUnavailable):
            self.give_back(name)
            return False
        except BaseException:
            self.give_back(name)  # cancelled while waiting: withdraw, or give back if granted
            raise
        finally:
            self._calls.pop(call_id, None)

    def give_back(self, name: str) -> None:
        """End this worker's turn at ``name`` (or withdraw its request); no answer is awaited."""
        writer = self._writer
        if writer is not None and not writer.is_closing():
            writer.write(frame(CALL, orjson.dumps([0, "give-back", name])))

    async def close(self) -> None:
        for task in (self._task, self._delivery):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._delivery = None
        if self._writer is not None:
            self._writer.transport.abort()
            self._writer = None
