"""``/api/push``: the VAPID public key and the signed-in user's browser push subscriptions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, read_body, request_info
from keelbase.api.responses import json_response, no_content
from keelbase.errors import NotFoundError

LOAD_ERROR = "An error occurred while loading the submitted data."


async def vapid_key(request: Request) -> Response:
    return json_response({"publicKey": await app_of(request).push.public_key()})


async def subscribe(request: Request) -> Response:
    info = await request_info(request)
    body = await read_body(request, LOAD_ERROR)
    saved, created = await app_of(request).push.subscribe(info.auth, body)
    return json_response(
        {
            "endpoint": saved.endpoint,
            "collectionId": saved.collection_id,
            "recordId": saved.record_id,
        },
        201 if created else 200,
    )


async def unsubscribe(request: Request) -> Response:
    info = await request_info(request)
    body = await read_body(request, LOAD_ERROR)
    if not await app_of(request).push.unsubscribe(info.auth, body.get("endpoint")):
        raise NotFoundError("No such push subscription of yours.")
    return no_content()


routes = [
    Route("/api/push/vapid", vapid_key, methods=["GET"]),
    Route("/api/push/subscriptions", subscribe, methods=["POST"]),
    Route("/api/push/subscriptions", unsubscribe, methods=["DELETE"]),
]
