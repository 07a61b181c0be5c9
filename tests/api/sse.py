"""An in-process SSE client for ``GET /api/realtime``, on both stores.

Starlette's test client and httpx's ASGI transport wait for a response to end,
and a realtime stream never does; this drives the ASGI app directly and parses
the stream's bytes as they are sent, so the route, the hub and the SSE framing
are the real ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from keelbase import App


class SseStream:
    """One open ``GET /api/realtime``; ``client_id`` is known once ``open`` returns."""

    def __init__(
        self,
        app: App,
        last_event_id: str = "",
        query: str = "",
        ip: str = "127.0.0.1",
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """``ip``: the peer's address (httpx's ASGI transport uses 127.0.0.1 too)."""
        self.app = app
        self.ip = ip
        self.headers = headers or []
        self.last_event_id = last_event_id  # sent as Last-Event-ID, as EventSource does
        self.query = query
        self.client_id = ""
        self.ids: list[str] = []  # each event's SSE id, in order
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._gone = asyncio.Event()
        self._buffer = ""
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> SseStream:
        self._task = asyncio.create_task(self._run())
        name, data = await self.next()
        assert name == "PB_CONNECT", (name, data)
        self.client_id = str(data["clientId"])
        return self

    async def _run(self) -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": "/api/realtime",
            "raw_path": b"/api/realtime", "query_string": self.query.encode(), "root_path": "",
            "headers": [(b"host", b"test")] + (
                [(b"last-event-id", self.last_event_id.encode())] if self.last_event_id else []
            ) + self.headers, "client": (self.ip, 50000),
            "server": ("test", 80),
        }  # fmt: skip
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await self._gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                self._feed(message.get("body", b"").decode())

        await self.app.asgi(scope, receive, send)

    def _feed(self, text: str) -> None:
        self._buffer += text
        while "\n\n" in self._buffer:
            block, self._buffer = self._buffer.split("\n\n", 1)
            if block.startswith(":"):
                continue  # a keep-alive comment
            fields = dict(line.split(":", 1) for line in block.split("\n"))
            self.ids.append(fields.get("id", ""))
            self.events.put_nowait((fields["event"], json.loads(fields["data"])))

    async def next(self, timeout: float = 5.0) -> tuple[str, Any]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def received(self, wait: float = 0.3) -> list[tuple[str, Any]]:
        """Everything that arrived within ``wait`` seconds."""
        await asyncio.sleep(wait)
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    async def close(self) -> None:
        self._gone.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
