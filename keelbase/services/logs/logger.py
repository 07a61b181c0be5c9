"""``app.logger`` for hook code, and the bridge from Python's ``logging`` into the same logs.

``app.logger.info("order paid", order=id, amount=12)`` keeps an entry with
level 0, that message and ``data = {"order": ..., "amount": 12}``, as
PocketBase's ``$app.logger().info(...)`` does. Entries below ``logs.minLevel``
are dropped, and nothing is kept while ``logs.maxDays`` is 0.

``LoggingBridge`` is a ``logging.Handler`` on Keelbase's own ``keelbase``
logger: every warning and error Keelbase reports there (a failing cron job,
hook, mail send, realtime delivery, commit callback) becomes an entry too,
with its traceback, and with the request id when it happened while serving one.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from collections.abc import Callable
from typing import Any

from keelbase.core.request_outcome import REQUEST_LOGGED, current_request_id
from keelbase.services.logs.entry import DEBUG, ERROR, INFO, WARN, LogEntry
from keelbase.services.logs.writer import LogWriter

# Records that need no entry of their own: the request's entry already has the
# error (``REQUEST_LOGGED``), or the record is about writing logs.
_SKIPPED_LOGGERS = ("keelbase.logs",)


def format_traceback(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def describe_error(error: BaseException) -> str:
    """``RuntimeError: boom``: the exception's type and message, on one line."""
    return "".join(traceback.format_exception_only(error)).strip()


class AppLogger:
    """Logs of the app's own code, kept with the request logs.

    Values in ``data`` should be JSON (strings, numbers, lists, dicts); anything
    else is kept as its text.
    """

    def __init__(self, writer: LogWriter, levels: Callable[[], tuple[int, int]]) -> None:
        self._writer = writer
        # (minLevel, maxDays) of the current settings
        self._levels = levels

    def enabled(self, level: int) -> bool:
        min_level, max_days = self._levels()
        return max_days > 0 and level >= min_level

    def log(self, level: int, message: str, **data: Any) -> None:
        if self.enabled(level):
            self._writer.add(LogEntry(level, message, data).stamped())

    def debug(self, message: str, **data: Any) -> None:
        self.log(DEBUG, message, **data)

    def info(self, message: str, **data: Any) -> None:
        self.log(INFO, message, **data)

    def warn(self, message: str, **data: Any) -> None:
        self.log(WARN, message, **data)

    warning = warn

    def error(self, message: str, **data: Any) -> None:
        self.log(ERROR, message, **data)

    def exception(self, message: str, **data: Any) -> None:
        """An error entry with the exception being handled (its text and traceback)."""
        error = sys.exc_info()[1]
        if error is not None:
            data.setdefault("error", describe_error(error))
            data.setdefault("traceback", format_traceback(error))
        self.log(ERROR, message, **data)


def _level_of(record: logging.LogRecord) -> int:
    if record.levelno >= logging.ERROR:
        return ERROR
    if record.levelno >= logging.WARNING:
        return WARN
    if record.levelno >= logging.INFO:
        return INFO
    return DEBUG


class LoggingBridge(logging.Handler):
    """Keelbase's own warnings and errors, as log entries.

    One process may run several apps (tests do, each on its own event loop);
    a record belongs to the app whose loop it was logged from. Records from a
    thread without a loop go to every app's logs.
    """

    def __init__(self, logger: AppLogger, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.WARNING)
        self._logger = logger
        self._loop = loop

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if getattr(record, REQUEST_LOGGED, False) or record.name.startswith(_SKIPPED_LOGGERS):
                return
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not None and running is not self._loop:
                return
            level = _level_of(record)
            if not self._logger.enabled(level):
                return
            data: dict[str, Any] = {"logger": record.name}
            request_id = current_request_id.get()
            if request_id:
                data["requestId"] = request_id
            if record.exc_info and record.exc_info[1] is not None:
                data["error"] = describe_error(record.exc_info[1])
                data["traceback"] = format_traceback(record.exc_info[1])
            self._logger.log(level, record.getMessage(), **data)
        except Exception:
            self.handleError(record)
