"""``/api/realtime``: the SSE stream and its subscriptions, as PocketBase's SDKs use them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from keelbase.api.request import app_of, read_body, request_info
from keelbase.api.responses import json_response, no_content
from keelbase.errors import MSG_BAD_REQUEST

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
    client = hub.connect(last_event_id or "")
    return StreamingResponse(
        hub.stream(client), media_type="text/event-stream; charset=UTF-8", headers=SSE_HEADERS
    )


async def set_subscriptions(request: Request) -> Response:
    info = await request_info(request)
    body = await read_body(request, MSG_BAD_REQUEST)  # PocketBase's message for a bad body here
    await app_of(request).realtime.subscribe(
        body.get("clientId"), body.get("subscriptions"), info.auth
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
    await app_of(request).realtime.set_presence(
        body.get("clientId"), body.get("topic"), body.get("state"), info.auth
    )
    return no_content()


async def leave_presence(request: Request) -> Response:
    info = await request_info(request)
    body = await read_body(request, LOAD_ERROR)
    await app_of(request).realtime.set_presence(
        body.get("clientId"), body.get("topic"), None, info.auth, leave=True
    )
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
