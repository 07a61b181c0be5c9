"""ASGI entry points for servers that import the app by name (``uvicorn --workers``)."""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import FrameType

from keelbase import collector

collector.pause()  # a spawned worker imports as the command does (collector.py)

from keelbase.api.application import KeelbaseApp  # noqa: E402
from keelbase.app import App  # noqa: E402
from keelbase.config import Config  # noqa: E402
from keelbase.log_format import TEXT_FORMAT  # noqa: E402

STOP_GRACE = 5.0  # as ``keelbase serve`` in one process: statements' time once shutdown begins


def from_environment() -> KeelbaseApp:
    """Each worker process builds its own ``App`` from the configuration the CLI left in the environment."""
    collector.pause()  # until the app's lifespan has started it (a forked worker too)
    raw = os.environ.get("KEELBASE_CONFIG_JSON")
    config = Config.model_validate_json(raw) if raw else Config()
    if config.hub_supervisor:
        _stop_with_supervisor(config.hub_supervisor)
    if not logging.getLogger().handlers:
        # uvicorn set up only its own loggers in this worker (the text format): Keelbase's
        # warnings reach stderr as in a single process, not only the logs table.
        logging.basicConfig(level="DEBUG" if config.dev else "INFO", format=TEXT_FORMAT)
    app = App(config)
    app.load_hooks()
    _end_streams_at_shutdown(app)
    return app.asgi


def _stop_with_supervisor(supervisor: int) -> None:
    """Have the kernel send this worker SIGTERM when the ``keelbase serve`` that started it dies.

    A worker also notices through the hub, but only once every copy of the hub's
    side of its connection is closed, and workers forked later hold copies. On
    Linux only (``prctl``); elsewhere the hub's notice is the way.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0) != 0:
        logging.getLogger("keelbase").warning(
            "could not ask to stop with the supervisor: %s", os.strerror(ctypes.get_errno())
        )
    if os.getppid() != supervisor:  # gone before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def _end_streams_at_shutdown(app: App) -> None:
    """End realtime streams as soon as this worker is told to stop, as one process does.

    uvicorn has set its own signal handlers when it builds the app; this wraps
    them, so open SSE streams do not hold the graceful shutdown for its whole
    timeout. (uvicorn restores the originals when it is done serving.)
    """
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handle(number: int, frame: FrameType | None, previous=previous) -> None:  # type: ignore[no-untyped-def]
            app.realtime.close_all()
            app.store.stop_statements(STOP_GRACE)
            previous(number, frame)

        signal.signal(sig, handle)
