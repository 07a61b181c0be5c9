"""``/api/logs``: superusers read the request and app logs (PocketBase's logs API)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, query_of, request_info, require_superuser
from keelbase.api.responses import json_response, no_content
from keelbase.services.records.listing import ListParams


async def list_logs(request: Request) -> Response:
    require_superuser(await request_info(request))
    params = ListParams.from_query(query_of(request))
    return json_response(await app_of(request).logs.page(params))


async def logs_stats(request: Request) -> Response:
    require_superuser(await request_info(request))
    return json_response(await app_of(request).logs.stats(query_of(request).get("filter", "")))


async def view_log(request: Request) -> Response:
    require_superuser(await request_info(request))
    return json_response(await app_of(request).logs.view(request.path_params["id"]))


async def delete_logs(request: Request) -> Response:
    require_superuser(await request_info(request))
    await app_of(request).logs.truncate()
    return no_content()


routes = [
    Route("/api/logs", list_logs, methods=["GET"]),
    Route("/api/logs", delete_logs, methods=["DELETE"]),
    Route("/api/logs/stats", logs_stats, methods=["GET"]),
    Route("/api/logs/{id}", view_log, methods=["GET"]),
]
