"""The admin dashboard at ``/_/``: the built single-page app, as PocketBase serves its own.

Hashed assets are cached for a year (their names change with their content);
``index.html`` is never cached, so a new build is picked up on the next load.
Other paths under ``/_/`` answer ``index.html`` for the app's own routes. A
checkout that never built the dashboard gets a page saying how, not a 500.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from keelbase.dashboard import DIST

INDEX = "index.html"
ASSETS = "assets/"
LONG_CACHE = "public, max-age=31536000, immutable"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>The dashboard is not built</h1>
<p>This Keelbase was installed from a source checkout where the admin dashboard
has not been built yet. The API works as usual under <code>/api/</code>.</p>
<p>To build it, run <code>make dashboard</code> in the repository (it needs Node.js and npm),
or start the server with <code>make run</code>, which builds it when missing or stale.
A wheel built after that contains it, and needs no Node.js to install.</p>
</body></html>
"""


class DashboardFiles(StaticFiles):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.root = directory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Checked per request: building while the server runs needs no restart.
        if not (self.root / INDEX).is_file():
            await HTMLResponse(NOT_BUILT, status_code=404)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as error:
            if (
                error.status_code != 404
                or path.startswith(ASSETS)
                or scope["method"] not in ("GET", "HEAD")
            ):
                raise
            response = await super().get_response(INDEX, scope)
        immutable = path.startswith(ASSETS) and response.status_code in (200, 304)
        response.headers["Cache-Control"] = LONG_CACHE if immutable else "no-cache"
        return response


async def to_dashboard(request: Request) -> Response:
    return RedirectResponse(str(request.url.replace(path=request.url.path + "/")), 301)


def routes(directory: Path = DIST) -> list[BaseRoute]:
    return [
        Route("/_", to_dashboard, methods=["GET", "HEAD"]),
        Mount("/_", DashboardFiles(directory), name="dashboard"),
    ]
