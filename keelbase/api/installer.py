"""``/api/installer``: the first superuser, from the link ``keelbase serve`` prints.

The token travels in the body, never in the URL, so it is not written to the
request logs.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, read_body
from keelbase.api.responses import no_content

BODY_LIMIT = 16 * 1024


async def check_link(request: Request) -> Response:
    body = await read_body(request, limit=BODY_LIMIT)
    await app_of(request).installer.check(body.get("token"))
    return no_content()


async def install(request: Request) -> Response:
    body = await read_body(request, limit=BODY_LIMIT)
    await app_of(request).installer.install(body.get("token"), body)
    return no_content()


routes = [
    Route("/api/installer/check", check_link, methods=["POST"]),
    Route("/api/installer", install, methods=["POST"]),
]
