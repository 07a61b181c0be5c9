"""``GET /api/health``: anyone may ask whether the server is up."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.responses import json_response


async def health(request: Request) -> Response:
    return json_response({"message": "API is healthy.", "code": 200, "data": {}})


routes = [Route("/api/health", health, methods=["GET", "HEAD"])]
