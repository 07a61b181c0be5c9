"""``/api/realtime``: the SSE stream and its subscriptions, as PocketBase's SDKs use them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from keelbase.api.request import app_of, read_body, request_info
from keelbase.api.responses import no_content

SSE_HEADERS = {
    "Cache-Control": "no-store",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
}


async def connect(request: Request) -> Response:
    hub = app_of(request).realtime
    client = hub.connect()
    return StreamingResponse(
        hub.stream(client), media_type="text/event-stream; charset=UTF-8", headers=SSE_HEADERS
    )


async def set_subscriptions(request: Request) -> Response:
    info = await request_info(request)
    body = await read_body(request, "An error occurred while loading the submitted data.")
    await app_of(request).realtime.subscribe(
        body.get("clientId"), body.get("subscriptions"), info.auth
    )
    return no_content()


routes = [
    Route("/api/realtime", connect, methods=["GET"]),
    Route("/api/realtime", set_subscriptions, methods=["POST"]),
]
