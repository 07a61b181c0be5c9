"""``App`` builds and owns everything one running instance needs.

It is also the public entry point for users who embed Keelbase: build an
``App``, then serve ``app.asgi`` or mount it in another ASGI application.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette

from keelbase.config import Config

log = logging.getLogger("keelbase")


class App:
    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self._asgi: Starlette | None = None
        self.started = False

    @property
    def asgi(self) -> Starlette:
        if self._asgi is None:
            from keelbase.api.server import build_asgi

            self._asgi = build_asgi(self)
        return self._asgi

    async def start(self) -> None:
        if self.started:
            return
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self.started = True

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        log.info("keelbase stopped cleanly")
