"""``POST /api/collections/{collection}/impersonate/{id}``: a superuser signs in as a record."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, fields_tree, lazy_body, query_of, request_info
from keelbase.api.responses import json_response
from keelbase.core.records.fields_picker import pick


async def impersonate(request: Request) -> Response:
    app = app_of(request)
    tree = fields_tree(request)
    info = await request_info(request)
    result = await app.impersonation.impersonate(
        request.path_params["collection"],
        request.path_params["id"],
        info,
        lazy_body(request),
        query_of(request).get("expand", ""),
    )
    return json_response(pick(result, tree))


routes = [
    Route("/api/collections/{collection}/impersonate/{id}", impersonate, methods=["POST"]),
]
