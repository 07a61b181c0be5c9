"""``keelbase serve --http-server granian``: plain HTTP served by granian, in one process
(or in each worker: ``serve_granian_workers``).

granian is an HTTP server written in Rust; in front of the same ASGI app it
answers about a fifth more single-record reads than uvicorn. It runs *embedded*
here (``granian.server.embed``): in this process's own event loop, so the start
(migrations, banner, hooks), the signals and the stop stay Keelbase's, as under
uvicorn. What this module adds around granian keeps what clients and operators
see the same as uvicorn's:

- the listening socket is bound here, as uvicorn binds it (``SO_REUSEADDR``,
  no ``SO_REUSEPORT``): granian's own socket shares its port with any other
  process that asks, so a second ``keelbase serve`` on a busy port would start
  and take half the requests instead of failing;
- the lifespan (the app's stop) runs after the last request, which gets
  ``SHUTDOWN_GRACE`` seconds before it is cancelled (uvicorn's
  ``timeout_graceful_shutdown``); SIGTERM and SIGINT end realtime streams at once;
  a second SIGINT cancels what still runs;
- the scope is given as uvicorn gives it: the ports of ``client`` and ``server``
  as numbers and ``http_version`` ``"1.0"`` (granian says ``"1"``);
- no limit on concurrent requests below the system's: granian's default
  (its "backpressure", 128) would count every open realtime stream and leave
  the 129th client waiting.

Several workers: ``serve_granian_workers``. Not served, and refused by the
command: HTTPS and domain arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

if TYPE_CHECKING:
    from keelbase.app import App
    from keelbase.config import Config

HTTP_SERVERS = ("uvicorn", "granian")
SHUTDOWN_GRACE = 10.0  # as uvicorn's timeout_graceful_shutdown under ``keelbase serve``
STOP_GRACE = 5.0  # as ``cli.STOP_GRACE``: statements' time once shutdown begins
BACKLOG = 2048  # uvicorn's
# Requests handled at once: high enough never to hold a realtime client back.
CONCURRENCY = 1 << 20


def refusal(*, https: str, domains: list[str], workers: int | None) -> str | None:
    """Why these ``serve`` options cannot be served by granian here, or ``None``."""
    if domains:
        return (
            "--http-server granian serves plain HTTP only; domain arguments (automatic "
            "HTTPS) need --http-server uvicorn"
        )
    if https:
        return "--http-server granian serves plain HTTP only; --https needs --http-server uvicorn"
    if workers is not None and workers > 1 and not sys.platform.startswith("linux"):
        return (
            f"--http-server granian forks its workers, on Linux only; --workers {workers} "
            "needs --http-server uvicorn here"
        )
    return None


class _Served:
    """The app as granian calls it: the scope as uvicorn gives it, and the requests kept
    track of, so that shutdown can wait for them and cancel the late ones."""

    def __init__(self, asgi: Callable[[Scope, Receive, Send], Any]) -> None:
        self.asgi = asgi
        self.requests: set[asyncio.Task[Any]] = set()
        self.idle = asyncio.Event()
        self.idle.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client, server = scope.get("client"), scope.get("server")
        if client:
            scope["client"] = (client[0], int(client[1]))
        if server:
            scope["server"] = (server[0], int(server[1]))
        if scope.get("http_version") == "1":
            scope["http_version"] = "1.0"
        task = asyncio.current_task()
        if task is None:  # not under granian's asyncio tasks: nothing to keep track of
            await self.asgi(scope, receive, send)
            return
        self.requests.add(task)
        self.idle.clear()
        try:
            await self.asgi(scope, receive, send)
        finally:
            self.requests.discard(task)
            if not self.requests:
                self.idle.set()

    def cancel(self) -> None:
        for task in self.requests:
            task.cancel()


class ListenError(Exception):
    """The address cannot be listened on (in use, not this machine's, not allowed)."""


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, as uvicorn makes it (``SO_REUSEADDR``, no ``SO_REUSEPORT``)."""
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=BACKLOG)
    except OSError as error:
        raise ListenError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def _log_config(log_config: dict[str, Any] | None) -> dict[str, Any]:
    """granian's loggers write through Keelbase's handlers (text or JSON), as uvicorn's do."""
    through_root = {"handlers": [], "propagate": True}
    base: dict[str, Any] = dict(log_config) if log_config else {}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": base.get("formatters", {}),
        "handlers": base.get("handlers", {}),
        **({"root": base["root"]} if "root" in base else {}),
        "loggers": {
            **base.get("loggers", {}),
            "_granian": dict(through_root),
            "granian.access": dict(through_root),
        },
    }


class _NotExperimental(logging.Filter):
    """granian warns at every start that embedding it is experimental; this module is
    what that warning asks of its user (pinned version, tested start and stop)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "experimental" not in record.getMessage()


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed, as uvicorn picks it (``loop="auto"``)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


class GranianServer:
    """``serve()`` as ``uvicorn.Server.serve`` does it: lifespan, serving, signals, graceful stop."""

    def __init__(
        self,
        app: App,
        config: Config,
        log_level: str,
        log_config: dict[str, Any] | None,
        listener: socket.socket | None = None,
    ):
        """``listener``: a socket already bound (a worker's, from its supervisor); else one
        is bound for ``config.http`` when serving starts."""
        self.app = app
        self.listener = listener
        self.config = config
        self.log_level = log_level
        self.log_config = log_config
        self.served = _Served(app.asgi)
        self.failed = False  # granian's worker ended on its own: the command fails
        self._stopping = False
        self._server: Any = None
        self._deadline: float | None = None  # the loop's time when late requests are cancelled

    def handle_exit(self, sig: int) -> None:
        """The first SIGTERM or SIGINT stops; a second SIGINT cancels what still runs."""
        if self._stopping:
            if sig == signal.SIGINT:
                self.served.cancel()
            return
        self._stopping = True
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + SHUTDOWN_GRACE
        # granian waits for the requests of open connections before it returns: they get
        # the grace from now, as under uvicorn, not from the end of its wait.
        loop.call_at(self._deadline, self._give_up)
        self.app.realtime.close_all()
        self.app.store.stop_statements(STOP_GRACE)
        if self._server is not None:
            self._server.stop()

    async def serve(self) -> None:
        from granian._granian import SocketHolder
        from granian.constants import HTTPModes, Interfaces
        from granian.log import LogLevels
        from granian.server.embed import Server

        listener = self.listener or bind(self.config.host, self.config.port)
        backlog = BACKLOG

        class Embedded(Server):
            def _init_shared_socket(self) -> None:
                # Rust takes the bound socket as it takes one made on another platform.
                holder = SocketHolder(listener.detach(), False, backlog)  # type: ignore[call-arg]
                self._ssp, self._shd = None, holder  # type: ignore[assignment]

        server = Embedded(
            self.served,
            address=self.config.host,
            port=self.config.port,
            interface=Interfaces.ASGINL,  # the lifespan is run here, around the last request
            http=HTTPModes.http1,  # as uvicorn: no HTTP/2 on plain connections
            websockets=False,  # no WebSocket routes (realtime is SSE)
            backlog=backlog,
            backpressure=CONCURRENCY,
            log_level=LogLevels(self.log_level),
            log_dictconfig=_log_config(self.log_config),
            log_access=self.config.dev,
        )
        server.workers_kill_timeout = int(SHUTDOWN_GRACE) + 5  # the last resort, past ours
        logging.getLogger("_granian").addFilter(_NotExperimental())
        loop = asyncio.get_running_loop()
        stops = (signal.SIGINT, signal.SIGTERM)
        asgi = self.app.asgi
        async with asgi.router.lifespan_context(asgi):
            self._server = server
            for stop in stops:
                loop.add_signal_handler(stop, self.handle_exit, stop)
            try:
                await server.serve()
                self.failed = bool(server.interrupt_children)
                await self._drain()
            finally:
                for stop in stops:
                    loop.remove_signal_handler(stop)
                with contextlib.suppress(OSError):
                    listener.close()

    def _give_up(self) -> None:
        """The grace is over: what still runs is cancelled, as uvicorn does."""
        if self.served.requests:
            print(
                f"Cancelling {len(self.served.requests)} request(s) still running after "
                f"{SHUTDOWN_GRACE:g}s.",
                file=sys.stderr,
                flush=True,
            )
            self.served.cancel()

    async def _drain(self) -> None:
        """Wait for the requests still running, those whose client left included."""
        loop = asyncio.get_running_loop()
        if self._deadline is None:  # granian stopped on its own: the grace starts now
            self._deadline = loop.time() + SHUTDOWN_GRACE
            loop.call_at(self._deadline, self._give_up)
        with contextlib.suppress(TimeoutError):  # a second for the cancelled to finish
            await asyncio.wait_for(self.served.idle.wait(), self._deadline + 1 - loop.time())
