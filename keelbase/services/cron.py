"""Cron jobs: named schedules in cron syntax, one run per tick across every node.

Each tick a node takes a lease in the store (an insert that only one node can
make) before it runs a job, so with several nodes exactly one runs it. A sixth
leading field for seconds is accepted (``*/10 * * * * *``), which PocketBase's
cron does not have.

croniter reads the schedules. It is imported when first needed (a schedule that
is not plain, or the first tick that checks one, off the event loop): importing
it runs ``file`` on the Python binary (a subprocess), which would hold up a
start by tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from keelbase.services.metrics.meter import Meter
from keelbase.store.base import Store, UniqueViolation

if TYPE_CHECKING:
    from croniter import croniter

log = logging.getLogger("keelbase.cron")
JobFunction = Callable[[], Awaitable[None] | None]


@dataclass
class Job:
    name: str
    expression: str
    function: JobFunction
    owner: str = ""

    @property
    def with_seconds(self) -> bool:
        return len(self.fields) == 6

    @property
    def fields(self) -> list[str]:
        return MACROS.get(self.expression.strip(), self.expression).split()

    def due(self, moment: datetime) -> bool:
        parts = self.fields
        expression = " ".join(parts)
        if self.with_seconds:
            # croniter wants seconds last; our sixth field comes first, as in most cron libraries
            expression = " ".join([*parts[1:], parts[0]])
        elif moment.second != 0:
            return False
        return bool(_croniter().match(expression, moment))


# The class, imported once: nothing invalidates it.
@functools.cache
def _croniter() -> type[croniter]:
    from croniter import croniter

    return croniter


# PocketBase's macros, as the five fields they stand for.
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MSG_SEGMENTS = (
    "Invalid cron expression - must be a valid macro or to have exactly 5 space separated segments."
)


def check_expression(expression: str) -> str:
    """Why ``expression`` is no schedule this service runs, or ``""`` when it is one."""
    expression = MACROS.get(expression.strip(), expression)
    fields = expression.split()
    if len(fields) not in (5, 6):
        return MSG_SEGMENTS
    if _plainly_valid(fields):
        return ""
    test = expression if len(fields) == 5 else " ".join([*fields[1:], fields[0]])
    if not _croniter().is_valid(test):
        return "invalid cron expression"
    return ""


# Each field's range: minutes, hours, day of the month, month, day of the week.
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _plainly_valid(fields: list[str]) -> bool:
    """Whether each field is ``*``, a number in its range or ``*/step`` (1 to the range's top):
    forms croniter certainly accepts (``tests/services/test_cron.py`` holds it to that),
    told without importing croniter, so the schedules of a start (``0 * * * *``) need none."""
    ranges = _RANGES if len(fields) == 5 else ((0, 59), *_RANGES)
    for text, (low, high) in zip(fields, ranges, strict=True):
        step = text.startswith("*/")
        number = text[2:] if step else text
        if text == "*":
            continue
        if not (number.isascii() and number.isdigit()):
            return False
        if not (1 if step else low) <= int(number) <= high:
            return False
    return True


@dataclass
class CronService:
    store: Store
    jobs: dict[str, Job] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _running: set[asyncio.Task[None]] = field(default_factory=set)
    meter: Meter = field(default_factory=Meter)

    def add(self, name: str, expression: str, function: JobFunction, owner: str = "") -> None:
        if not name or len(name) > 100:
            raise ValueError("a cron job needs a name of 1 to 100 characters")
        if check_expression(expression):
            raise ValueError(f"invalid cron expression {expression!r} for job {name!r}")
        self.jobs[name] = Job(name, expression, function, owner)

    def remove(self, name: str) -> None:
        self.jobs.pop(name, None)

    def remove_owner(self, owner: str) -> None:
        for name in [n for n, job in self.jobs.items() if job.owner == owner]:
            del self.jobs[name]

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="keelbase-cron")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._running):
            task.cancel()

    async def _loop(self) -> None:
        while True:
            now = time.time()
            await asyncio.sleep(1 - (now % 1) + 0.001)  # wake just after each whole second
            moment = datetime.fromtimestamp(int(time.time()), UTC)
            jobs = list(self.jobs.values())
            if not _croniter.cache_info().currsize and any(
                moment.second == 0 or job.with_seconds for job in jobs
            ):
                await asyncio.to_thread(_croniter)  # once, off the loop, before its first use
            for job in jobs:
                if job.due(moment) and await self._lease(job, moment):
                    self._spawn(job)
            if moment.second == 0 and moment.minute == 0:
                await self._forget_old_leases(moment)

    async def _lease(self, job: Job, moment: datetime) -> bool:
        try:
            async with self.store.transaction() as conn:
                await conn.execute(
                    'INSERT INTO "_cron_leases" ("job", "tick") VALUES (:job, :tick)',
                    {"job": job.name, "tick": int(moment.timestamp())},
                )
        except UniqueViolation:
            return False  # another node runs this tick
        return True

    async def _forget_old_leases(self, moment: datetime) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                'DELETE FROM "_cron_leases" WHERE "tick" < :before',
                {"before": int(moment.timestamp()) - 86400},
            )

    def _spawn(self, job: Job) -> None:
        self.spawn(job.name)

    def spawn(self, name: str) -> None:
        """Run a job in the background now (by hand, or for its tick)."""
        task = asyncio.create_task(self.run(name), name=f"keelbase-cron-{name}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def run(self, name: str) -> None:
        """Run one job now; a failure is logged, never raised into the scheduler."""
        job = self.jobs.get(name)
        if job is None:
            return
        started = time.monotonic()
        try:
            result = job.function()
            if inspect.isawaitable(result):
                await result
            log.info("cron job %s done in %.3fs", name, time.monotonic() - started)
            self.meter.cron_run(name, "success")
        except Exception:
            log.exception("cron job %s failed", name, extra={"cron_job": name})
            self.meter.cron_run(name, "failure")
