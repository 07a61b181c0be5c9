"""The public folder at ``/``, with PocketBase's ``--indexFallback``.

With the fallback on (the default, as in PocketBase) a path that names no
file answers the folder's ``index.html``, so a single-page app's own routes
(``/settings/profile``) load the app. Paths under ``/api/`` keep their JSON 404.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

INDEX = "index.html"


class PublicFiles(StaticFiles):
    def __init__(self, directory: Path, index_fallback: bool) -> None:
        super().__init__(directory=directory, html=True)
        self.index_fallback = index_fallback

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as error:
            if (
                error.status_code != 404
                or not self.index_fallback
                or scope["path"].startswith("/api/")
                or scope["method"] not in ("GET", "HEAD")
            ):
                raise
            return await super().get_response(INDEX, scope)
