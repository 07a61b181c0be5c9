"""The public folder at ``/``, with PocketBase's ``--indexFallback``.

With the fallback on (the default, as in PocketBase) a path that names no
file answers the folder's ``index.html``, so a single-page app's own routes
(``/settings/profile``) load the app. Paths under ``/api/`` keep their JSON 404.

Paths are made canonical as PocketBase's (Go's file server) does, with a
``301`` to the path without the query: a folder without its slash
(``/docs`` → ``/docs/``), a file with one (``/a.txt/`` → ``/a.txt``), and an
``index.html`` named (``/docs/index.html`` → ``/docs/``). Only paths that exist
in the folder are redirected, so no request can point the redirect elsewhere.
"""

from __future__ import annotations

import stat
from pathlib import Path

import anyio
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

INDEX = "index.html"


class PublicFiles(StaticFiles):
    def __init__(self, directory: Path, index_fallback: bool) -> None:
        super().__init__(directory=directory, html=True)
        self.index_fallback = index_fallback

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] in ("GET", "HEAD"):
            target = await anyio.to_thread.run_sync(self._canonical, scope["path"], path)
            if target is not None:
                return RedirectResponse(target, status_code=301)
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

    def _canonical(self, url_path: str, path: str) -> str | None:
        """Where a GET of an existing folder or file should go instead (``None``: here)."""
        if url_path.startswith("/api/"):
            return None
        try:
            _, found = self.lookup_path(path)
        except OSError:
            return None
        if found is None:
            return None
        clean = "/" + "/".join(part for part in url_path.split("/") if part)
        if stat.S_ISDIR(found.st_mode):
            return None if url_path.endswith("/") else clean.rstrip("/") + "/"
        if url_path.endswith("/"):
            return clean
        if url_path.rsplit("/", 1)[-1] == INDEX:
            return clean[: -len(INDEX)]
        return None
