"""``POST /api/batch``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, read_body, request_info
from keelbase.api.responses import json_response


async def batch(request: Request) -> Response:
    app = app_of(request)
    app.batch.check_enabled()
    info = await request_info(request)
    body = await read_body(request, "Failed to read the submitted batch data.")
    return json_response(await app.batch.run(body, info))


routes = [Route("/api/batch", batch, methods=["POST"])]
