"""``POST /api/batch``."""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.rate_limit import client_ip
from keelbase.api.request import app_of, read_body, request_info
from keelbase.api.responses import json_response

DEFAULT_MAX_BODY = 128 << 20


async def batch(request: Request) -> Response:
    app = app_of(request)
    app.batch.check_enabled()
    info = await request_info(request)
    # PocketBase's batch route has its own body limit: the settings', else 128 MiB.
    max_body = app.settings.current.batch.maxBodySize or DEFAULT_MAX_BODY
    body = await read_body(request, "Failed to read the submitted batch data.", max_body)
    limits = app.rate_limits
    limit = None
    if limits.enabled:
        limit = partial(limits.check_batch, ip=client_ip(app, request.scope), auth=info.auth)
    return json_response(await app.batch.run(body, info, limit))


routes = [Route("/api/batch", batch, methods=["POST"])]
