"""``GET /api/openapi.json``: the server's OpenAPI 3.1 description.

Anyone may read it. The shape of Keelbase's own routes is public (it is
PocketBase's documented API); a collection's schema is shown only to
superusers, or to anyone when its list or view rule opens it to some caller.
See ``services/openapi/`` and docs/openapi.md.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, request_info, token_of


def _routes(request: Request) -> list[tuple[str, str]]:
    """(method, path) of every route the router has now, user routes included."""
    out: list[tuple[str, str]] = []
    for route in request.app.router.routes:
        path = getattr(route, "path", "")
        if not isinstance(route, Route) or not path.startswith("/api/"):
            continue
        out.extend((method, path) for method in sorted(route.methods or ()))
    return out


async def openapi(request: Request) -> Response:
    superuser = bool(token_of(request)) and (await request_info(request)).is_superuser
    body = app_of(request).openapi.document(_routes(request), superuser=superuser)
    return Response(body, media_type="application/json")


routes = [Route("/api/openapi.json", openapi, methods=["GET"])]
