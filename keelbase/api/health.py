"""``GET /api/health``: anyone may ask whether the server is up; superusers learn more.

Everyone gets PocketBase's answer. Superusers also get PocketBase's ``realIP``
and ``possibleProxyHeader`` (the dashboard's hint that a proxy sits in front)
and Keelbase's figures: uptime, version, store, Redis, and requests, success
rate and latency percentiles of the last 5 minutes, hour and day.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.client_ip import client_ip
from keelbase.api.request import app_of, fields_tree, request_info, token_of
from keelbase.api.responses import json_response
from keelbase.core.records.fields_picker import pick

# Checked after the trusted proxy headers of the settings, as PocketBase does.
COMMON_PROXY_HEADERS = ("CF-Connecting-IP", "Fly-Client-IP", "X-Forwarded-For")


def possible_proxy_header(request: Request, configured: list[str]) -> str:
    for header in (*configured, *COMMON_PROXY_HEADERS):
        if request.headers.get(header):
            return header
    return ""


async def health(request: Request) -> Response:
    data: dict[str, Any] = {}
    if token_of(request):
        info = await request_info(request)
        if info.is_superuser:
            app = app_of(request)
            data["canBackup"] = app.backups.active is None
            proxy = app.settings.current.trustedProxy
            data["realIP"] = client_ip(request.scope, proxy)
            data["possibleProxyHeader"] = possible_proxy_header(request, proxy.headers)
            data.update(await app.metrics.health())
    # ``fields`` picks from the answer as on every PocketBase JSON answer
    body = {"message": "API is healthy.", "code": 200, "data": data}
    return json_response(pick(body, fields_tree(request)))


routes = [Route("/api/health", health, methods=["GET", "HEAD"])]
