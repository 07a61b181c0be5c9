"""``GET /api/health``: anyone may ask whether the server is up."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, request_info
from keelbase.api.responses import json_response


async def health(request: Request) -> Response:
    """Superusers also learn whether a backup could start now (``canBackup``), as in PocketBase."""
    data: dict[str, object] = {}
    if request.headers.get("authorization") and (await request_info(request)).is_superuser:
        data["canBackup"] = app_of(request).backups.active is None
    return json_response({"message": "API is healthy.", "code": 200, "data": data})


routes = [Route("/api/health", health, methods=["GET", "HEAD"])]
