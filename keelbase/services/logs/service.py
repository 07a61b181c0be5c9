"""The logs of one app: where they are kept, how they are written, and how the API reads them.

The settings act at once: ``logs.maxDays: 0`` takes the request observer off
the request path altogether (a request then pays nothing for logs) and keeps
no entry at all; ``logs.minLevel`` drops entries below it as they are made;
``logIP`` and ``logAuthId`` decide what a request entry holds. A change of
those settings also deletes what the new settings would not have kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson

from keelbase.core.filter import FilterError
from keelbase.core.request_outcome import RequestObserver, RequestOutcome
from keelbase.errors import BadRequestError, NotFoundError
from keelbase.services.cron import CronService
from keelbase.services.logs.entry import (
    MAX_MESSAGE,
    LogEntry,
    Stamper,
    cut_message,
    encode_data,
    new_ids,
)
from keelbase.services.logs.logger import AppLogger, LoggingBridge
from keelbase.services.logs.query import LogsQuery
from keelbase.services.logs.requests import RequestLog, ResolveAuth
from keelbase.services.logs.retention import JOB_NAME, JOB_SCHEDULE, expired
from keelbase.services.logs.store import LogStore
from keelbase.services.logs.writer import LogWriter, Rows
from keelbase.services.records.listing import ListParams, invalid_query, page_result
from keelbase.services.settings import Logs, Settings, SettingsService
from keelbase.store.base import Row, Store

log = logging.getLogger("keelbase.logs")
MSG_BAD_STATS_FILTER = "Invalid filter format."


def _entry_json(row: Row) -> dict[str, Any]:
    data = row["data"]
    return {
        "id": row["id"],
        "created": row["created"],
        "data": orjson.loads(data) if isinstance(data, str | bytes) else data,
        "message": row["message"],
        "level": int(row["level"]),
    }


class LogsService:
    def __init__(
        self,
        store: Store,
        schema: list[str],
        *,
        owns_store: bool,
        settings: SettingsService,
        resolve_auth: ResolveAuth,
    ) -> None:
        self.store = LogStore(store, schema, owns_store)
        self.settings = settings
        self.writer = LogWriter(self._encode, self.store.insert)
        self.logger = AppLogger(self.writer, self._levels)
        self.requests = RequestLog(self.writer, self._logs_settings, resolve_auth)
        self._observers: list[RequestObserver] | None = None
        self._bridge: LoggingBridge | None = None
        self._applied: Logs | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.started = False
        settings.on_change(self._settings_changed)

    def _logs_settings(self) -> Logs:
        return self.settings.current.logs

    def _levels(self) -> tuple[int, int]:
        logs = self.settings.current.logs
        return logs.minLevel, logs.maxDays

    # Running ----------------------------------------------------------------

    async def start(self, crons: CronService) -> None:
        await self.store.open()
        self.writer.start()
        self._bridge = LoggingBridge(self.logger, asyncio.get_running_loop())
        logging.getLogger("keelbase").addHandler(self._bridge)
        crons.add(JOB_NAME, JOB_SCHEDULE, self._retention_job)
        self.started = True
        self._spawn(self.delete_expired())

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        if self._bridge is not None:
            logging.getLogger("keelbase").removeHandler(self._bridge)
            self._bridge = None
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.writer.stop()
        await self.store.close()

    def attach(self, observers: list[RequestObserver]) -> None:
        """Observe the requests of this list of observers (the ASGI app's) while logs are on."""
        self._observers = observers
        self._sync_observer(self.settings.current.logs)

    def _sync_observer(self, settings: Logs) -> None:
        observers = self._observers
        if observers is None:
            return
        present = self.requests in observers
        if settings.maxDays > 0 and not present:
            observers.append(self.requests)
        elif settings.maxDays <= 0 and present:
            observers.remove(self.requests)

    def _settings_changed(self, settings: Settings) -> None:
        logs = settings.logs
        self._sync_observer(logs)
        changed = self._applied is not None and self._applied != logs
        self._applied = logs.model_copy()
        if changed and self.started:
            self._spawn(self.delete_expired())

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work, name="keelbase-logs-cleanup")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def delete_expired(self) -> int:
        """Delete the entries the settings no longer keep (the retention cron job)."""
        where, params = expired(self.settings.current.logs)
        try:
            return await self.store.delete(where, params)
        except Exception:
            log.exception("deleting old log entries failed")
            return 0

    async def _retention_job(self) -> None:
        await self.delete_expired()

    async def flush(self) -> None:
        await self.writer.flush()

    async def _encode(self, batch: list[Any]) -> Rows:
        settings = self.settings.current.logs
        if settings.maxDays <= 0:
            return []
        stamp = Stamper()
        entries: list[LogEntry] = []
        for item in batch:
            if isinstance(item, RequestOutcome):
                auth = await self.requests.auth_of(item.token) if item.token else None
                entries.append(self.requests.entry_of(item, settings, stamp, auth))
            else:
                entries.append(item)
        ids = iter(new_ids(len(entries)))
        max_size = settings.maxDataSize
        return [
            (
                entry.id or next(ids),
                entry.level,
                entry.message if len(entry.message) <= MAX_MESSAGE else cut_message(entry.message),
                encode_data(entry.data, max_size),
                entry.created,
            )
            for entry in entries
        ]

    # Reading ----------------------------------------------------------------

    async def page(self, params: ListParams) -> dict[str, Any]:
        query = LogsQuery(self.store.dialect, self.store.rowid())
        try:
            query.filter(params.filter)
        except FilterError as error:
            raise invalid_query("filter", str(error)) from error
        query.sort(params.sort)
        rows = await self.store.select(
            query.where, query.order, query.params, params.per_page, params.offset
        )
        total = None if params.skip_total else await self.store.count(query.where, query.params)
        return page_result([_entry_json(row) for row in rows], params, total)

    async def view(self, id_: str) -> dict[str, Any]:
        row = await self.store.find(id_) if id_ else None
        if row is None:
            raise NotFoundError()
        return _entry_json(row)

    async def stats(self, filter_text: str) -> list[dict[str, Any]]:
        """Entries per hour: ``[{"date": "2026-12-03 18:00:00.000Z", "total": 5}, ...]``."""
        query = LogsQuery(self.store.dialect, self.store.rowid())
        try:
            query.filter(filter_text)
        except FilterError as error:
            raise BadRequestError(MSG_BAD_STATS_FILTER) from error
        rows = await self.store.hourly(query.where, query.params)
        return [{"date": f"{row['hour']}:00:00.000Z", "total": int(row["total"])} for row in rows]

    async def truncate(self) -> None:
        """Delete every entry (``DELETE /api/logs``, PocketBase 0.40)."""
        await self.writer.flush()
        await self.store.delete("1=1", {})
