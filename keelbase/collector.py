"""Python's cycle collector around a start: off while a process starts, on once it serves.

A start imports the server and builds its app: a few hundred thousand objects,
almost none of them garbage, so the collections that would run meanwhile (a full
one among them) find nothing to free and cost about a tenth of the start. The
entry points that start a process (``python -m keelbase`` and the ``keelbase``
command in ``__main__.py``, a worker's ``keelbase.asgi``) call ``pause``; the
server's lifespan calls ``resume_soon`` once the app has started, and the other
commands ``resume`` before they work. Code that embeds ``App`` never pauses, so
for it both are no-ops (a collector it turned off itself stays off).
"""

from __future__ import annotations

import asyncio
import gc

RESUME_AFTER = 1.0  # seconds after the app started: the server's first answers come first


class _State:
    paused = False  # by ``pause``, in this process


def pause() -> None:
    if gc.isenabled():
        gc.disable()
        _State.paused = True


def resume() -> None:
    """One full collection frees the start's garbage; what survives it (modules, classes,
    the app) is frozen, so that later collections never scan it again and stay short."""
    if not _State.paused:
        return
    _State.paused = False
    gc.collect()
    gc.freeze()
    gc.enable()


def resume_soon() -> None:
    """``resume`` a moment from now, on the running loop (a server that just started)."""
    if _State.paused:
        asyncio.get_running_loop().call_later(RESUME_AFTER, resume)
