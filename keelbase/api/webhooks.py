"""``/api/webhooks``: superusers define outbound webhooks and read their delivery log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, query_of, read_body, request_info, require_superuser
from keelbase.api.responses import json_response, no_content
from keelbase.errors import BadRequestError, field_error

LOAD_ERROR = "An error occurred while loading the submitted data."
MAX_PER_PAGE = 500


async def _superuser(request: Request) -> None:
    require_superuser(await request_info(request))


async def list_webhooks(request: Request) -> Response:
    await _superuser(request)
    return json_response(await app_of(request).webhooks.all())


async def create_webhook(request: Request) -> Response:
    await _superuser(request)
    body = await read_body(request, LOAD_ERROR)
    return json_response(await app_of(request).webhooks.create(body))


async def view_webhook(request: Request) -> Response:
    await _superuser(request)
    return json_response(await app_of(request).webhooks.get(request.path_params["id"]))


async def update_webhook(request: Request) -> Response:
    await _superuser(request)
    body = await read_body(request, LOAD_ERROR)
    return json_response(await app_of(request).webhooks.update(request.path_params["id"], body))


async def delete_webhook(request: Request) -> Response:
    await _superuser(request)
    await app_of(request).webhooks.delete(request.path_params["id"])
    return no_content()


def _positive(query: dict[str, str], key: str, default: int, most: int) -> int:
    raw = query.get(key, "")
    if not raw:
        return default
    # ASCII digits only (str.isdigit takes "²", int() does not), and few of them
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not 1 <= int(raw) <= most:
        raise BadRequestError(
            data={key: field_error("validation_invalid_number", f"Must be 1 to {most}.")}
        )
    return int(raw)


async def list_deliveries(request: Request) -> Response:
    await _superuser(request)
    query = query_of(request)
    page = _positive(query, "page", 1, 1_000_000)
    per_page = _positive(query, "perPage", 30, MAX_PER_PAGE)
    found = await app_of(request).webhooks.deliveries(request.path_params["id"], page, per_page)
    return json_response(found)


async def replay_delivery(request: Request) -> Response:
    await _superuser(request)
    replayed = await app_of(request).webhooks.replay(
        request.path_params["id"], request.path_params["deliveryId"]
    )
    return json_response(replayed)


routes = [
    Route("/api/webhooks", list_webhooks, methods=["GET"]),
    Route("/api/webhooks", create_webhook, methods=["POST"]),
    Route("/api/webhooks/{id}", view_webhook, methods=["GET"]),
    Route("/api/webhooks/{id}", update_webhook, methods=["PATCH"]),
    Route("/api/webhooks/{id}", delete_webhook, methods=["DELETE"]),
    Route("/api/webhooks/{id}/deliveries", list_deliveries, methods=["GET"]),
    Route("/api/webhooks/{id}/deliveries/{deliveryId}/replay", replay_delivery, methods=["POST"]),
]
