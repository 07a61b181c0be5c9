"""``keelbase serve --http-server granian --workers N``: N forked processes, one socket.

The supervisor (the command's process, which has applied the migrations and
runs the local hub) binds the socket as uvicorn binds it, forks the workers,
starts another in place of one that dies, and on SIGTERM or SIGINT tells each to
stop and waits for them. Each worker builds its own ``App`` from the
configuration, as a uvicorn worker does (``asgi.from_environment``), and serves
it with granian embedded in its own loop (``serve_granian.GranianServer``), so a
worker starts, stops and ends its realtime streams as one process does.

Linux only, as forked uvicorn workers (``cli._fork_workers``): the supervisor
holds threads (the hub's), and only Linux forks such a process safely enough.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

from keelbase import collector
from keelbase.config import Config
from keelbase.serve_granian import GranianServer, bind, loop_factory

if TYPE_CHECKING:
    from keelbase.app import App

log = logging.getLogger("keelbase")
RESPAWN_PAUSE = 0.5  # seconds between replacing workers that die at once: no tight fork loop


def serve_workers(
    config: Config, workers: int, log_level: str, log_config: dict[str, Any] | None
) -> int:
    """Run ``workers`` granian workers until a signal; 0 once they all stopped.

    Raises ``serve_granian.ListenError`` when the address cannot be listened on.
    """
    listener = bind(config.host, config.port)
    children: set[int] = set()
    stopping = False

    def stop(number: int, frame: FrameType | None) -> None:
        # SIGTERM, also for a Ctrl-C: the terminal sends the workers their own SIGINT, and a
        # second SIGINT would tell them to cancel what runs (the second Ctrl-C's meaning).
        nonlocal stopping
        stopping = True
        for pid in list(children):
            _signal(pid, signal.SIGTERM)

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the supervisor's code
            code = 1
            try:
                code = _worker(config, listener, log_level, log_config)
            except BaseException:
                log.exception("a granian worker failed")
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.add(pid)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for _ in range(workers):
            spawn()
        while children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid not in children:
                continue  # not a worker (a backup's child is its worker's, not ours)
            children.discard(pid)
            if not stopping:
                log.warning("granian worker %d ended (%s); starting another", pid, _how(status))
                time.sleep(RESPAWN_PAUSE)
                if not stopping:
                    spawn()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        listener.close()
    return 0


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # gone already
        os.kill(pid, number)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def _worker(
    config: Config, listener: socket.socket, log_level: str, log_config: dict[str, Any] | None
) -> int:
    """One worker: its own ``App`` and loop, granian serving the inherited socket."""
    from keelbase.app import App
    from keelbase.asgi import _stop_with_supervisor

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)  # until the worker's loop handles them
    collector.pause()  # until the app's lifespan has started it
    if config.hub_supervisor:
        _stop_with_supervisor(config.hub_supervisor)
    app = App(config)
    app.load_hooks()
    server = GranianServer(app, config, log_level, log_config, listener=listener)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(_serve(app, server))
    return 1 if server.failed else 0


async def _serve(app: App, server: GranianServer) -> None:
    """The worker's app stops even when granian could not serve."""
    try:
        await server.serve()
    finally:
        await app.stop()
