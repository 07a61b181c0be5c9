"""``/api/advisor/indexes``: the index advisor, for superusers (``services/advisor/``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, read_body, request_info, require_superuser
from keelbase.api.responses import json_response


async def suggestions(request: Request) -> Response:
    require_superuser(await request_info(request))
    items = await app_of(request).advisor.suggestions()
    return json_response({"items": items})


async def apply(request: Request) -> Response:
    require_superuser(await request_info(request))
    body = await read_body(request, "An error occurred while loading the submitted data.")
    collection = await app_of(request).advisor.apply(body)
    return json_response(collection.to_json())


routes = [
    Route("/api/advisor/indexes", suggestions, methods=["GET"]),
    Route("/api/advisor/indexes/apply", apply, methods=["POST"]),
]
