"""``/api/push``: the VAPID public key, the signed-in user's browser push subscriptions,
and the superusers' push rules (push to users on record events)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, read_body, request_info, require_superuser
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


async def list_rules(request: Request) -> Response:
    require_superuser(await request_info(request))
    return json_response(await app_of(request).push.list_rules())


async def create_rule(request: Request) -> Response:
    require_superuser(await request_info(request))
    body = await read_body(request, LOAD_ERROR)
    return json_response(await app_of(request).push.save_rule("", body))


async def view_rule(request: Request) -> Response:
    require_superuser(await request_info(request))
    return json_response(await app_of(request).push.view_rule(request.path_params["id"]))


async def update_rule(request: Request) -> Response:
    require_superuser(await request_info(request))
    body = await read_body(request, LOAD_ERROR)
    saved = await app_of(request).push.save_rule(request.path_params["id"], body)
    return json_response(saved)


async def delete_rule(request: Request) -> Response:
    require_superuser(await request_info(request))
    await app_of(request).push.delete_rule(request.path_params["id"])
    return no_content()


routes = [
    Route("/api/push/rules", list_rules, methods=["GET"]),
    Route("/api/push/rules", create_rule, methods=["POST"]),
    Route("/api/push/rules/{id}", view_rule, methods=["GET"]),
    Route("/api/push/rules/{id}", update_rule, methods=["PATCH"]),
    Route("/api/push/rules/{id}", delete_rule, methods=["DELETE"]),
    Route("/api/push/vapid", vapid_key, methods=["GET"]),
    Route("/api/push/subscriptions", subscribe, methods=["POST"]),
    Route("/api/push/subscriptions", unsubscribe, methods=["DELETE"]),
]
