"""Routes added by user code: plain Starlette routes whose handler gets a ``RouteEvent``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import read_body, request_info, require_auth, require_superuser
from keelbase.api.responses import json_response, no_content
from keelbase.core.request_info import RequestInfo

if TYPE_CHECKING:
    from keelbase.app import App


@dataclass
class RouteEvent:
    """What a custom route's handler gets: the request, who sent it, and the app."""

    request: Request
    info: RequestInfo
    app: App

    @property
    def auth(self) -> Any:
        return self.info.auth

    @property
    def path_params(self) -> dict[str, Any]:
        return dict(self.request.path_params)

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)

    async def body(self) -> dict[str, Any]:
        """The body as JSON, form or multipart, with PocketBase's errors for bad input."""
        return await read_body(self.request)

    def require_auth(self) -> None:
        """401 unless a user or superuser signed the request."""
        require_auth(self.info)

    def require_superuser(self) -> None:
        """401 without auth, 403 for anyone but a superuser."""
        require_superuser(self.info)


RouteHandler = Callable[[RouteEvent], Awaitable[Any]]


def make_route(app: App, path: str, handler: RouteHandler, methods: list[str]) -> Route:
    async def endpoint(request: Request) -> Response:
        event = RouteEvent(request, await request_info(request), app)
        result = await handler(event)
        if isinstance(result, Response):
            return result
        if result is None:
            return no_content()
        return json_response(orjson.loads(orjson.dumps(result, default=str)))

    return Route(path, endpoint, methods=methods, name=f"user:{path}")
