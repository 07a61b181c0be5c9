"""``/api/settings``: superusers read and change the runtime settings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, fields_tree, read_body, request_info, require_superuser
from keelbase.api.responses import json_response
from keelbase.core.fields_picker import pick


async def get_settings(request: Request) -> Response:
    require_superuser(await request_info(request))
    return json_response(pick(app_of(request).settings.current.public(), fields_tree(request)))


async def patch_settings(request: Request) -> Response:
    require_superuser(await request_info(request))
    tree = fields_tree(request)
    body = await read_body(request, "An error occurred while loading the submitted data.")
    settings = await app_of(request).settings.update(body)
    return json_response(pick(settings.public(), tree))


routes = [
    Route("/api/settings", get_settings, methods=["GET"]),
    Route("/api/settings", patch_settings, methods=["PATCH"]),
]
