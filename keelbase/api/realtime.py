"""``/api/realtime``: the SSE stream and its subscriptions, as PocketBase's SDKs use them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from keelbase.api.rate_limit import client_ip
from keelbase.api.request import app_of, read_body, request_info
from keelbase.api.responses import json_response, no_content
from keelbase.batched_transport import unbatched
from keelbase.errors import MSG_BAD_REQUEST
from keelbase.services.realtime.clients import PING, Client, Message
from keelbase.services.realtime.hub import RealtimeHub

# Where the application keeps the server's own ``send`` (under any wrapping middleware).
RAW_SEND = "keelbase.raw_send"

LOAD_ERROR = "An error occurred while loading the submitted data."

SSE_HEADERS = {
    "Cache-Control": "no-store",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
}


async def connect(request: Request) -> Response:
    hub = app_of(request).realtime
    # a reconnecting client gets what it missed (EventSource sends the header by itself)
    last_event_id = request.headers.get("last-event-id") or request.query_params.get("lastEventId")
    client = hub.connect(last_event_id or "", client_ip(app_of(request), request.scope))
    transport = _transport_of(request.scope)
    if transport is None:
        return StreamingResponse(hub.stream(client), media_type=MEDIA_TYPE, headers=SSE_HEADERS)
    return EventStream(hub, client, transport)


MEDIA_TYPE = "text/event-stream; charset=UTF-8"


class TransportSink:
    """A stream's HTTP/1.1 connection: each message is written as one chunk, at once.

    The chunk of an event with an id is the same for every client it goes to, so
    it is made once (on the shared message) and the same bytes go to every
    connection: no per-client queue, generator or task wakes for a message.
    """

    def __init__(self, transport: Any, task: asyncio.Task[Any] | None) -> None:
        self.transport = transport
        self.task = task  # the response's, waiting for the peer to go; ``end`` wakes it
        self.waiting = False
        self.ended = False

    def write(self, message: Message, client_id: str) -> None:
        if self.transport.is_closing():
            self.end()
            return
        framed = message.framed
        if framed is None:
            event = message.event(client_id)
            framed = b"%x\r\n%b\r\n" % (len(event), event)
            if message.id or message is PING:  # the same bytes for every client
                message.framed = framed
        self.transport.write(framed)

    def unsent(self) -> int:
        return int(self.transport.get_write_buffer_size())

    def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        if self.waiting and self.task is not None:
            self.task.cancel()

    def drop(self) -> None:
        self.transport.abort()
        self.end()


_HEADERS: list[tuple[bytes, bytes]] = []


class EventStream(Response):
    """The SSE response written straight to uvicorn's connection (chunked HTTP/1.1).

    While it lasts only the response's own task waits, on the peer's disconnect;
    the hub ends it early (dropped, idle, shutdown) by cancelling that wait.
    """

    def __init__(self, hub: RealtimeHub, client: Client, transport: Any) -> None:
        self.hub = hub
        self.client = client
        self.transport = transport
        self.status_code = 200
        self.background = None
        if not _HEADERS:
            _HEADERS.extend(
                StreamingResponse(
                    _nothing(), media_type=MEDIA_TYPE, headers=SSE_HEADERS
                ).raw_headers
            )
        self.raw_headers = _HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub, client = self.hub, self.client
        try:
            await send({"type": "http.response.start", "status": 200, "headers": list(_HEADERS)})
            await send(
                {"type": "http.response.body", "body": hub.opened(client), "more_body": True}
            )
            # from here on events are written straight to the connection, after what it holds
            sink = TransportSink(unbatched(self.transport), asyncio.current_task())
            hub.attach(client, sink)
            if not client.discarded and not sink.ended:
                sink.waiting = True
                try:
                    await _disconnected(receive)
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    # ours (the hub ended the stream) unless someone else cancelled too
                    if not sink.ended or task is None or task.uncancel() > 0:
                        raise
                finally:
                    sink.waiting = False
        finally:
            hub.disconnect(client)
        if not self.transport.is_closing():
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


def _transport_of(scope: Scope) -> Any:
    """uvicorn's connection under this HTTP/1.1 request, when it can be written to directly."""
    if scope.get("http_version") != "1.1":
        return None
    cycle = getattr(scope.get(RAW_SEND), "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "get_write_buffer_size"):
        return None
    return transport


async def set_subscriptions(request: Request) -> Response:
    info = await request_info(request)
    body = await read_body(request, MSG_BAD_REQUEST)  # PocketBase's message for a bad body here
    app = app_of(request)
    await app.realtime.subscribe(
        body.get("clientId"), body.get("subscriptions"), info.auth, client_ip(app, request.scope)
    )
    return no_content()


async def broadcast(request: Request) -> Response:
    """Our addition: a client's message to a custom topic's subscribers."""
    info = await request_info(request)
    body = await read_body(request, LOAD_ERROR)
    await app_of(request).realtime.broadcast(info, body.get("topic"), body.get("data"))
    return no_content()


async def set_presence(request: Request) -> Response:
    info = await request_info(request)
    body = await read_body(request, LOAD_ERROR)
    app = app_of(request)
    await app.realtime.set_presence(
        body.get("clientId"), body.get("topic"), body.get("state"), info.auth,
        ip=client_ip(app, request.scope),
    )  # fmt: skip
    return no_content()


async def leave_presence(request: Request) -> Response:
    info = await request_info(request)
    body = await read_body(request, LOAD_ERROR)
    app = app_of(request)
    await app.realtime.set_presence(
        body.get("clientId"), body.get("topic"), None, info.auth, leave=True,
        ip=client_ip(app, request.scope),
    )  # fmt: skip
    return no_content()


async def list_presence(request: Request) -> Response:
    info = await request_info(request)
    topic = request.query_params.get("topic")
    items = await app_of(request).realtime.list_presence(info, topic)
    return json_response({"topic": topic, "items": items})


routes = [
    Route("/api/realtime", connect, methods=["GET"]),
    Route("/api/realtime", set_subscriptions, methods=["POST"]),
    Route("/api/realtime/broadcast", broadcast, methods=["POST"]),
    Route("/api/realtime/presence", list_presence, methods=["GET"]),
    Route("/api/realtime/presence", set_presence, methods=["POST"]),
    Route("/api/realtime/presence", leave_presence, methods=["DELETE"]),
]
