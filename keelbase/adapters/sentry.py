"""Sentry: unhandled errors, failing hooks and cron jobs reported through ``sentry-sdk``.

Imported only when ``KEELBASE_SENTRY_DSN`` is set. Reports come from the log:
every record at error level (the 5xx path, a failing hook, cron job, mail send)
becomes an event, with its traceback when it has one, and the info records
before it are its breadcrumbs. Sentry's own integrations for the frameworks
and drivers stay off: their request data and breadcrumbs would carry personal
data that this module could not vouch for.

Never sent: credentials (``Authorization``, cookies) and the stack frames' local
variables (they hold the request and its headers). Without ``pii`` also no
user, no IP, no headers or bodies, and log messages are sent as their templates
(``"cron job %s failed"``), since the values filled into them may be personal.
What is safe to name travels as tags (the request id, the route template).
"""

from __future__ import annotations

import logging
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.atexit import AtexitIntegration
from sentry_sdk.integrations.dedupe import DedupeIntegration
from sentry_sdk.integrations.excepthook import ExcepthookIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.integrations.threading import ThreadingIntegration
from sentry_sdk.utils import BadDsn, Dsn


def dsn_problem(dsn: str) -> str:
    """Why ``dsn`` is no Sentry DSN ("" when it is one), to refuse it at start."""
    try:
        Dsn(dsn)
    except BadDsn as error:
        return str(error)
    return ""


def start_sentry(dsn: str, *, pii: bool, environment: str, version: str) -> None:
    sentry_sdk.init(
        dsn=dsn,
        release=f"keelbase@{version}",
        environment=environment or None,
        send_default_pii=pii,
        # A frame's locals hold the ASGI scope, its headers and so the caller's token
        # or cookie: never sent, with or without PII.
        include_local_variables=False,
        default_integrations=False,
        auto_enabling_integrations=False,
        integrations=[
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
            DedupeIntegration(),
            ExcepthookIntegration(),
            ThreadingIntegration(),
            AtexitIntegration(),
        ],
        before_send=None if pii else _templates_only,
        before_breadcrumb=None if pii else _breadcrumb_template_only,
    )


def flush() -> None:
    """Send the events still queued (blocks up to two seconds: run it off the loop)."""
    sentry_sdk.flush(timeout=2)


def _templates_only(event: Any, hint: Any) -> Any:
    entry = event.get("logentry")
    if entry and entry.get("params"):
        entry["formatted"] = entry.get("message", "")
        entry["params"] = []
    return event


def _breadcrumb_template_only(crumb: Any, hint: Any) -> Any:
    record = (hint or {}).get("log_record")
    if record is not None and record.args:
        crumb["message"] = str(record.msg)
    return crumb
