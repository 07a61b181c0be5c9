"""Builds the Starlette application: routes, middleware and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from keelbase.api import (
    batch,
    collections,
    crons,
    files,
    health,
    realtime,
    record_auth,
    records,
    settings,
)
from keelbase.api.errors import api_error_handler, http_error_handler, internal_error_handler
from keelbase.api.headers import HeadersMiddleware
from keelbase.errors import ApiError, BadRequestError
from keelbase.events import RequestEvent

if TYPE_CHECKING:
    from keelbase.app import App


def with_request_hooks(app: App, route: BaseRoute) -> BaseRoute:
    """The route, its endpoint wrapped in the ``request`` hooks (free while none is bound)."""
    if not isinstance(route, Route):
        return route
    endpoint = route.endpoint

    async def hooked(request: Request) -> Response:
        hook = app.hooks.request
        if not hook.bindings:
            response: Response = await endpoint(request)
            return response
        event = RequestEvent(request)

        async def handle(e: RequestEvent) -> None:
            e.response = await endpoint(e.request)

        await hook.trigger(event, handle)
        if event.response is None:
            raise BadRequestError("The request was stopped by the server's hooks.")
        return event.response

    wrapped = Route(route.path, hooked, methods=list(route.methods or ()), name=route.name)
    wrapped.keelbase_owner = getattr(route, "keelbase_owner", "")  # type: ignore[attr-defined]
    return wrapped


def insert_user_route(asgi: Starlette, route: BaseRoute) -> None:
    """Add a route while serving: before the catch-all static files, after our own routes."""
    routes = asgi.router.routes
    position = next(
        (i for i, r in enumerate(routes) if isinstance(r, Mount) and r.path == ""), len(routes)
    )
    routes.insert(position, route)


def build_asgi(app: App) -> Starlette:
    routes: list[BaseRoute] = [
        *health.routes,
        *collections.routes,
        *records.routes,
        *record_auth.routes,
        *settings.routes,
        *batch.routes,
        *crons.routes,
        *files.routes,
        *realtime.routes,
    ]

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await app.start()
        try:
            yield
        finally:
            await app.stop()

    routes.extend(app.user_routes)
    routes = [with_request_hooks(app, route) for route in routes]
    public = app.config.resolved_public_dir
    if public.is_dir():
        routes.append(Mount("/", StaticFiles(directory=public, html=True), name="public"))

    middleware = [Middleware(HeadersMiddleware, origins=app.config.origins)]
    asgi = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            ApiError: api_error_handler,
            HTTPException: http_error_handler,
            Exception: internal_error_handler,
        },
        lifespan=lifespan,
    )
    asgi.state.keelbase = app
    return asgi
