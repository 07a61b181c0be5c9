"""How ``keelbase serve`` writes its log: readable lines, or one JSON object per line.

JSON is what log shippers (Vector, Fluent Bit, Loki's promtail, CloudWatch)
read without parsing rules. Every record becomes one line on stderr with the
same fields: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``,
``request_id`` while a request is being handled, ``exception`` (the traceback)
when there is one, and whatever the caller passed in ``extra=`` (``cron_job``). uvicorn's own loggers (server and access log) are routed to
the same handler through its ``log_config``, which every worker process applies.
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

import orjson

from keelbase.core.request_outcome import current_request_id

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


# A record's own attributes; any other was passed by the caller in ``extra=`` and is kept.
_STANDARD = {*vars(logging.makeLogRecord({})), "message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def json_log_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn: every logger, ours and uvicorn's, as JSON."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "keelbase.log_format.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        # uvicorn's loggers carry no handler of their own: their records reach the root's.
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
        },
    }


def configure(log_format: str, level: str) -> dict[str, Any] | None:
    """Set up this process's log; the ``log_config`` to hand uvicorn (``None``: its own).

    Python's warnings are routed through the log too in JSON, so that nothing
    but JSON reaches stderr.
    """
    if log_format == "json":
        config = json_log_config(level)
        logging.config.dictConfig(config)
        logging.captureWarnings(True)
        return config
    logging.basicConfig(level=level, format=TEXT_FORMAT)
    return None
