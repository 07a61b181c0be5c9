"""Builds the Starlette application: routes, middleware and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from keelbase.api import (
    batch,
    collections,
    files,
    health,
    realtime,
    record_auth,
    records,
    settings,
)
from keelbase.api.errors import api_error_handler, http_error_handler, internal_error_handler
from keelbase.api.headers import SecurityHeadersMiddleware
from keelbase.errors import ApiError

if TYPE_CHECKING:
    from keelbase.app import App


def build_asgi(app: App) -> Starlette:
    routes: list[BaseRoute] = [
        *health.routes,
        *collections.routes,
        *records.routes,
        *record_auth.routes,
        *settings.routes,
        *batch.routes,
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

    public = app.config.resolved_public_dir
    if public.is_dir():
        routes.append(Mount("/", StaticFiles(directory=public, html=True), name="public"))

    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=app.config.origins,
            allow_methods=["*"],
            allow_headers=["*"],
        ),
    ]
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
