"""Builds the ASGI application: our routes around Starlette's router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from keelbase import collector
from keelbase.api import (
    advisor,
    aggregates,
    backups,
    batch,
    collections,
    crons,
    dashboard,
    dashboard_access,
    files,
    health,
    installer,
    logs,
    metrics,
    openapi,
    payments,
    push,
    rate_limit,
    realtime,
    records,
    settings,
    sql,
    superuser_ips,
    sync,
    vectors,
    webhooks,
)
from keelbase.api.application import ROUTE_KEY, KeelbaseApp
from keelbase.api.auth import impersonation, mail_flows, oauth2, otp, password
from keelbase.api.client_ip import client_ip
from keelbase.api.public import PublicFiles
from keelbase.errors import BadRequestError
from keelbase.events import RequestEvent

if TYPE_CHECKING:
    from keelbase.app import App


class ApiRoute(Route):
    """A route that calls its endpoint directly, with the ``request`` hooks around it.

    Starlette's generic wrapper adds a layer per request that this API does not
    need: errors still reach the app's exception handlers, which sit outside.
    """

    def __init__(self, app: App, route: Route) -> None:
        super().__init__(
            route.path, route.endpoint, methods=list(route.methods or ()), name=route.name
        )
        self.keelbase = app
        self.keelbase_owner = getattr(route, "keelbase_owner", "")
        self.keelbase_mounted = route

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            await super().handle(scope, receive, send)
            return
        scope[ROUTE_KEY] = self.path
        request = Request(scope, receive, send)
        hook = self.keelbase.hooks.request
        if not hook.bindings:
            response: Response = await self.endpoint(request)
        else:
            event = RequestEvent(request)

            async def handle(e: RequestEvent) -> None:
                e.response = await self.endpoint(e.request)

            await hook.trigger(event, handle)
            if event.response is None:
                raise BadRequestError("The request was stopped by the server's hooks.")
            response = event.response
        await response(scope, receive, send)


def with_request_hooks(app: App, route: BaseRoute) -> BaseRoute:
    """Our routes are ``ApiRoute``s: direct calls, with the request hooks around them."""
    if not isinstance(route, Route) or isinstance(route, ApiRoute):
        return route
    return ApiRoute(app, route)


def insert_user_route(asgi: KeelbaseApp, route: BaseRoute) -> None:
    """Add a route while serving: before the catch-all static files, after our own routes."""
    routes = asgi.router.routes
    position = next(
        (i for i, r in enumerate(routes) if isinstance(r, Mount) and r.path == ""), len(routes)
    )
    routes.insert(position, route)


def build_asgi(app: App) -> KeelbaseApp:
    # Starlette tries routes in order: the busiest first (their paths cannot shadow the others).
    routes: list[BaseRoute] = [
        *records.routes,
        *files.routes,
        *health.routes,
        *collections.routes,
        *aggregates.routes,
        *password.routes,
        *mail_flows.routes,
        *impersonation.routes,
        *otp.routes,
        *settings.routes,
        *batch.routes,
        *sync.routes,
        *crons.routes,
        *logs.routes,
        *backups.routes,
        *sql.routes,
        *advisor.routes,
        *vectors.routes,
        *realtime.routes,
        *oauth2.routes,
        *metrics.routes,
        *openapi.routes,
        *payments.routes,
        *push.routes,
        *dashboard_access.routes,
        *installer.routes,
        *webhooks.routes,
    ]

    @asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        await app.start()
        collector.resume_soon()  # after a start made without it (collector.py)
        try:
            yield
        finally:
            await app.stop()

    routes.extend(app.user_routes)
    routes = [with_request_hooks(app, route) for route in routes]
    # After the API and the user's routes, before the public folder (as in PocketBase).
    routes.extend(dashboard.routes())
    public = app.config.resolved_public_dir
    if public.is_dir():
        public_files = PublicFiles(public, app.config.index_fallback)
        routes.append(Mount("/", public_files, name="public"))
    asgi = KeelbaseApp(Router(routes=routes, lifespan=lifespan), app.config.origins)
    asgi.state.keelbase = app
    asgi.keelbase = app  # what ``app_of`` reads: an attribute, not State's __getattr__
    asgi.user_ip = lambda scope: client_ip(scope, app.settings.current.trustedProxy)
    rate_limit.install(app, asgi)
    metrics.install(app, asgi)
    app.logs.attach(asgi.observers)
    _install_telemetry(app, asgi)
    superuser_ips.install(app, asgi)
    return asgi


def _install_telemetry(app: App, asgi: KeelbaseApp) -> None:
    """Sentry's per-request scope and the trace's server span, only when turned on.

    Their modules import sentry-sdk and OpenTelemetry, so they are imported here
    and only here: a server without them never loads either.
    """
    if app.error_tracking:
        from keelbase.api.error_tracking import ErrorTracking

        pii, user_ip = app.config.sentry_pii, asgi.user_ip
        asgi.wrap(lambda inner: ErrorTracking(inner, pii, user_ip))
    if app.tracing is not None:
        from keelbase.api.tracing import ServerSpans

        tracer = app.tracing.tracer
        asgi.wrap(lambda inner: ServerSpans(inner, tracer))
