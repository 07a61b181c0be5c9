"""Every answered request as a log entry, in PocketBase's shape.

``request_finished`` runs after each answer, on the request's own task, so it
does nothing but decide whether the request is kept and queue its outcome.
The entry is built later, in the writer's batch (``entry_of``): the auth of
a token the request never looked at is resolved there, off the request path.

An entry's ``data`` holds PocketBase's keys (``type: "request"``, ``method``,
``url``, ``status``, ``execTime`` in ms, ``auth``, ``authId`` when
``logs.logAuthId``, ``userIP`` and ``remoteIP`` when ``logs.logIP``,
``referer``, ``userAgent``, and ``error``/``details`` for a failed request),
with the values of secret query parameters (``token``, ``code``, ``password``,
``secret``) replaced by ``REDACTED``,
plus ``requestId``, the ``X-Request-Id`` of the answer, and for a 5xx the
``traceback`` (only superusers read logs; the client never sees it).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from keelbase.core.request_outcome import RequestOutcome
from keelbase.errors import ApiError
from keelbase.services.logs.entry import ERROR, INFO, LogEntry, Stamper
from keelbase.services.logs.logger import describe_error, format_traceback
from keelbase.services.logs.writer import LogWriter
from keelbase.services.settings import Logs

ResolveAuth = Callable[[str], Awaitable[Any]]
# the logs API's own routes (templates)
_QUIET_ROUTES = frozenset({"/api/logs", "/api/logs/stats", "/api/logs/{id}"})


# Query parameters whose values are secrets (file tokens, OAuth2 codes): kept out of the logs.
_SECRET_VALUE = re.compile(r"(?<=[?&])(token|code|password|secret)=[^&#]*")


def _redacted(url: str) -> str:
    if "?" in url and ("token=" in url or "code=" in url or "password=" in url or "secret=" in url):
        return _SECRET_VALUE.sub(r"\1=REDACTED", url)
    return url


def _cut(text: str, limit: int) -> str:
    return text[:limit] + "..." if len(text) > limit else text


class RequestLog:
    """The request observer that keeps request logs (``RequestObserver``)."""

    def __init__(
        self, writer: LogWriter, settings: Callable[[], Logs], resolve_auth: ResolveAuth
    ) -> None:
        self._writer = writer
        self._settings = settings
        self._resolve_auth = resolve_auth

    def request_started(self, method: str) -> None:
        pass

    def request_finished(self, outcome: RequestOutcome) -> None:
        settings = self._settings()
        if settings.maxDays <= 0:
            return
        failed = outcome.error is not None or outcome.status >= 500
        if (ERROR if failed else INFO) < settings.minLevel:
            return
        # reading the logs is not logged unless it failed (PocketBase's SkipSuccessActivityLog)
        if not failed and outcome.route in _QUIET_ROUTES:
            return
        self._writer.add(outcome)

    async def auth_of(self, token: str) -> tuple[str, str]:
        """The collection name and id a token the request never read belongs to ("" for none)."""
        try:
            record = await self._resolve_auth(token)
        except Exception:  # a token that cannot be read is a guest's, as in the request
            return "", ""
        if record is None:
            return "", ""
        return record.collection.name, record.id

    def entry_of(
        self,
        outcome: RequestOutcome,
        settings: Logs,
        stamp: Stamper,
        auth: tuple[str, str] | None = None,
    ) -> LogEntry:
        """The entry of one request (without its id: the writer gives ids by the batch).

        ``auth`` is what ``auth_of`` found for the request's unread token.
        """
        method = outcome.method
        url = outcome.url
        referer = outcome.referer
        user_agent = outcome.user_agent
        if "?" in url:
            url = _redacted(url)
        if len(url) > 3000:
            url = _cut(url, 3000)
        if referer:
            referer = _redacted(referer)
            if len(referer) > 2000:
                referer = _cut(referer, 2000)
        if len(user_agent) > 2000:
            user_agent = _cut(user_agent, 2000)
        if len(method) > 50 or not method.isupper():
            method = _cut(method.upper(), 50)
        collection, auth_id = auth or (outcome.auth_collection, outcome.auth_id)
        data: dict[str, Any] = {
            "type": "request",
            "execTime": outcome.duration * 1000,
            "url": url,
            "method": method,
            "status": outcome.status,
            "referer": referer,
            "userAgent": user_agent,
            "requestId": outcome.request_id,
            "auth": collection,
        }
        error = outcome.error
        failed = error is not None or outcome.status >= 500
        if error is not None:
            if isinstance(error, ApiError):
                data["error"] = error.message
                data["details"] = error.data
            else:
                data["error"] = describe_error(error)
                if outcome.status >= 500:
                    data["traceback"] = format_traceback(error)
        if collection and settings.logAuthId:
            data["authId"] = auth_id
        if settings.logIP:
            data["userIP"] = outcome.user_ip
            data["remoteIP"] = outcome.remote_ip
        # when the answer was done, as PocketBase stamps the entry after the request
        created = stamp(outcome.started + outcome.duration)
        shown = unquote(url) if "%" in url else url
        return LogEntry(ERROR if failed else INFO, f"{method} {shown}", data, created)
