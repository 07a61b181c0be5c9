"""``GET /api/metrics``: the Prometheus scrape, and the request observers behind the figures.

Off by default: then the route answers 404 as if it did not exist. On, it
answers a superuser's token or ``Authorization: Bearer <metrics.token>``;
401 without credentials (or with ones that match nothing), 403 for other
signed-in records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, request_info, require_superuser, token_of
from keelbase.core.request_outcome import RequestObserver
from keelbase.errors import NotFoundError

if TYPE_CHECKING:
    from keelbase.api.application import KeelbaseApp
    from keelbase.app import App

# prometheus_client's CONTENT_TYPE_LATEST, without importing it while metrics are off
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def metrics(request: Request) -> Response:
    app = app_of(request)
    service = app.metrics
    if not service.enabled:
        raise NotFoundError()
    token = token_of(request)
    if not (token and service.token_matches(token)):
        require_superuser(await request_info(request))
    return Response(service.scrape(), media_type=CONTENT_TYPE)


routes = [Route("/api/metrics", metrics, methods=["GET"])]


def install(app: App, asgi: KeelbaseApp) -> None:
    """The health figures observe every request; the Prometheus observer only while metrics are on."""
    asgi.observers.append(app.metrics.figures)
    current: list[RequestObserver] = []

    def use(observer: RequestObserver | None) -> None:
        for old in current:
            if old in asgi.observers:
                asgi.observers.remove(old)
        current.clear()
        if observer is not None:
            asgi.observers.append(observer)
            current.append(observer)

    use(app.metrics.request_observer)
    app.metrics.on_observer_change(use)
