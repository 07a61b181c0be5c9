"""JSON request bodies parsed without holding the event loop, within bounds on their work.

orjson holds the GIL while it parses, so a thread does not help: a 30 MB body
with 2.5 million keys parsed on a thread held the event loop for 1.95 s (in the
child process: 20 ms at worst). Bodies up to
``INLINE_BYTES`` are parsed right here (a few milliseconds at most); larger ones
in a child process (``body_json_worker.py``), which also checks the bounds, so
the server only ever builds values that are within them. Past a bound: a 400.
"""

from __future__ import annotations

import asyncio
import logging
import marshal
import sys
import weakref
from pathlib import Path
from typing import Any

import orjson

from keelbase.api.body_json_worker import INVALID, OK, TOO_MUCH, problem_of
from keelbase.errors import BadRequestError

log = logging.getLogger("keelbase.api")

INLINE_BYTES = 256 * 1024  # larger bodies are parsed in a child process
MAX_DEPTH = 128  # nesting levels (orjson writes at most 254)
MAX_KEYS = 100_000  # object keys in one body, all levels together
MAX_VALUES = 1_000_000  # values (scalars, arrays, objects) in one body
WORKERS = 2  # child processes parsing at once; more bodies wait their turn
WORKER_SECONDS = 20.0  # a child still parsing after this is stopped
WORKER = Path(__file__).with_name("body_json_worker.py")

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


async def parse_json(raw: bytes, load_error: str) -> Any:
    """The value of ``raw``; a 400 with ``load_error`` when it is not JSON, or a bound's message."""
    if len(raw) > INLINE_BYTES:
        return await _in_child(raw, load_error)
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BadRequestError(load_error) from error
    # Only a body with that many brackets can be too deep; walking it costs little at this size.
    if raw.count(b"[") + raw.count(b"{") >= MAX_DEPTH:
        problem = problem_of(value, MAX_DEPTH, MAX_KEYS, MAX_VALUES)
        if problem is not None:
            raise BadRequestError(problem)
    return value


async def _in_child(raw: bytes, load_error: str) -> Any:
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(WORKERS)
    async with slots:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", str(WORKER), str(MAX_DEPTH), str(MAX_KEYS), str(MAX_VALUES),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            async with asyncio.timeout(WORKER_SECONDS):
                out, _ = await proc.communicate(raw)
        except TimeoutError:
            raise BadRequestError("The body took too long to read.") from None
        finally:
            if proc.returncode is None:  # timed out, or the request was cancelled
                proc.kill()
                await proc.wait()
    kind, payload = out[:1], out[1:]
    if kind == OK:
        return marshal.loads(payload)
    if kind == TOO_MUCH:
        raise BadRequestError(payload.decode())
    if kind != INVALID:
        log.warning("the JSON body parser exited with %s", proc.returncode)
    raise BadRequestError(load_error)
