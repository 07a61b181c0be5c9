"""``GET /api/health``: anyone may ask whether the server is up."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, request_info
from keelbase.api.responses import json_response

# PocketBase checks these besides the trusted proxy headers (its "X-Forwarded-For" has a
# non-ASCII hyphen and can never match: the plain one is checked here).
PROXY_HEADERS = ("CF-Connecting-IP", "Fly-Client-IP", "X-Forwarded-For")


async def health(request: Request) -> Response:
    """Superusers also learn whether a backup could start now (``canBackup``), their address
    as the server sees it, and a proxy header the request carries, as in PocketBase."""
    data: dict[str, object] = {}
    if request.headers.get("authorization"):
        info = await request_info(request)
        if info.is_superuser:
            app = app_of(request)
            data["canBackup"] = app.backups.active is None
            data["realIP"] = info.ip
            headers = [*app.settings.current.trustedProxy.headers, *PROXY_HEADERS]
            data["possibleProxyHeader"] = next((h for h in headers if request.headers.get(h)), "")
    return json_response({"message": "API is healthy.", "code": 200, "data": data})


routes = [Route("/api/health", health, methods=["GET", "HEAD"])]
