"""The ASGI application: one layer for headers and errors around Starlette's router.

Starlette's application stacks three wrappers (server errors, user middleware,
exception handlers) around every request; this class does the same work in one
``send`` wrapper, which matters on a path that runs thousands of times a second.
It keeps what other code relies on: ``router``, ``state`` and lifespan.
"""

from __future__ import annotations

import errno
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keelbase.api.headers import SECURITY_HEADERS, cors_extra, preflight
from keelbase.api.responses import error_response
from keelbase.core.request_outcome import (
    REQUEST_LOGGED,
    RequestObserver,
    RequestOutcome,
    current_request_id,
)
from keelbase.errors import MSG_BAD_REQUEST, MSG_INTERNAL, MSG_NOT_FOUND, ApiError
from keelbase.store.base import QueryTimeout, StorageFull, StoreUnavailable, WriteConflict

if TYPE_CHECKING:
    from keelbase.app import App

log = logging.getLogger("keelbase.api")
MSG_FILE_NOT_FOUND = "File not found."
# An incoming X-Request-Id is kept only when it looks like an id: no spaces, no
# markup, nothing a log line or a header could be broken with.
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
REQUEST_ID_KEY = "keelbase.request_id"
# Set by the matched route to its path template (see ``server.ApiRoute``).
ROUTE_KEY = "keelbase.route"
# The exception behind an error answer, for observers.
ERROR_KEY = "keelbase.error"
# Marks log records of errors that the request's own log entry keeps.
_REQUEST_LOGGED = {REQUEST_LOGGED: True}


def _peer_ip(scope: Scope) -> str:
    peer = scope.get("client")
    return str(peer[0]) if peer else ""


def _safely(call: Callable[..., None], *args: object) -> None:
    """An observer's failure must never fail the request it observes."""
    try:
        call(*args)
    except Exception:
        log.exception("a request observer failed")


def request_id(incoming: bytes) -> bytes:
    """The request's id: the client's (or proxy's) when well-formed, else a new one.

    A new id only has to be unique, not secret (it names the request in logs and
    traces, and the client sees it): 96 bits of ``random`` cost a tenth of
    ``secrets`` (a system call per request, 2-3 % of a record view). The module's
    generator is seeded from the system at import and again in every forked child.
    """
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return b"%024x" % random.getrandbits(96)


def http_error(exc: HTTPException, method: str) -> ApiError:
    """Unmatched routes answer as PocketBase's router does: 404 for any method.

    A GET that matches no route falls through to the static files there, hence
    its "File not found."; a wrong method on a known path is a 404 too, not 405.
    """
    if exc.status_code in (404, 405):
        return ApiError(404, MSG_FILE_NOT_FOUND if method in ("GET", "HEAD") else MSG_NOT_FOUND)
    return ApiError(exc.status_code, str(exc.detail))


class KeelbaseApp:
    def __init__(self, router: Router, origins: list[str]) -> None:
        self.router = router
        self.state = State()
        self.keelbase: App | None = None  # the app it serves (set with ``state.keelbase``)
        self.any_origin = "*" in origins
        self.origins = {o.encode() for o in origins}
        # Runs before routing when set (rate limits); may raise ApiError to answer instead.
        self.guard: Callable[[Scope], Awaitable[None]] | None = None
        # Runs next when set (``superuserIPs``): superuser tokens from other addresses.
        self.superuser_guard: Callable[[Scope], Awaitable[None]] | None = None
        # Told about every request (logs, metrics); with none a request pays nothing for them.
        self.observers: list[RequestObserver] = []
        # The client's IP for observers, from the trusted proxy headers (set by the app).
        self.user_ip: Callable[[Scope], str] = _peer_ip
        # The HTTP path with what ``wrap`` put around it; ``None``: nothing was.
        self._wrapped: ASGIApp | None = None

    def wrap(self, middleware: Callable[[ASGIApp], ASGIApp]) -> None:
        """Put ``middleware`` around every HTTP request, outside what was put before.

        For what must see a request whole, from before its id is given to after
        its observers ran (a trace's span, an error tracker's scope). It reads the
        request's id, route and error from the scope once the inner app returns.
        """
        inner = self._wrapped if self._wrapped is not None else self._dispatch
        self._wrapped = middleware(inner)

    def _allowed(self, origin: bytes) -> bytes | None:
        if self.any_origin:
            return b"*"
        return origin if origin in self.origins else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        scope["keelbase.raw_send"] = send  # the server's own, for streams that write directly
        if scope["type"] != "http":
            await self.router(scope, receive, send)
            return
        if self._wrapped is not None:
            await self._wrapped(scope, receive, send)
            return
        await self._dispatch(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.observers:
            await self._observed(scope, receive, send)
            return
        await self._handle(scope, receive, send)

    async def _observed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle the request, then tell every observer how it went."""
        observers = list(self.observers)
        method = scope["method"]
        for observer in observers:
            _safely(observer.request_started, method)
        started = time.time()
        clock = time.perf_counter()
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._handle(scope, receive, send_noting_status)
        finally:
            outcome = self._outcome(scope, status, started, time.perf_counter() - clock)
            for observer in observers:
                _safely(observer.request_finished, outcome)

    def _outcome(
        self, scope: Scope, status: int, started: float, duration: float
    ) -> RequestOutcome:
        referer = user_agent = token = ""
        for name, value in scope["headers"]:
            if name == b"referer":
                referer = value.decode("latin-1")
            elif name == b"user-agent":
                user_agent = value.decode("latin-1")
            elif name == b"authorization":
                token = value.decode("latin-1")
        if token[:7].lower() == "bearer ":
            token = token[7:]
        token = token.strip()
        auth_collection = auth_id = ""
        info = scope.get("keelbase.info")
        if info is not None:
            token = ""
            if info.auth is not None:
                auth_collection, auth_id = info.auth.collection.name, info.auth.id
        query = scope.get("query_string", b"")
        url = scope.get("raw_path", scope["path"].encode())
        if isinstance(url, bytes):
            url = url.decode("latin-1")
        if query:
            url = f"{url}?{query.decode('latin-1')}"
        return RequestOutcome(
            method=scope["method"],
            url=url,
            route=scope.get(ROUTE_KEY, ""),
            status=status or 500,
            started=started,
            duration=duration,
            request_id=scope.get(REQUEST_ID_KEY, ""),
            remote_ip=_peer_ip(scope),
            user_ip=self.user_ip(scope),
            referer=referer,
            user_agent=user_agent,
            auth_collection=auth_collection,
            auth_id=auth_id,
            token=token,
            error=scope.get(ERROR_KEY),
        )

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = b""
        requested_headers = b""
        incoming_id = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming_id = value
            elif name == b"origin":
                origin = value
            elif name == b"access-control-request-headers":
                requested_headers = value
        rid = request_id(incoming_id)
        scope[REQUEST_ID_KEY] = rid_text = rid.decode()
        id_header = (b"x-request-id", rid)
        allowed = self._allowed(origin) if origin else None
        if scope["method"] == "OPTIONS":
            # As PocketBase's CORS middleware: every OPTIONS is a preflight, never routed;
            # without an Origin (not a browser) it is a plain 204.
            await preflight(send, allowed, requested_headers, id_header, bool(origin))
            return
        extra = [*SECURITY_HEADERS, *cors_extra(allowed, self.any_origin), id_header]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        id_token = current_request_id.set(rid_text)
        try:
            if self.guard is not None:
                await self.guard(scope)
            if self.superuser_guard is not None:
                await self.superuser_guard(scope)
            await self.router(scope, receive, send_with_headers)
        except Exception as error:  # every failure gets PocketBase's error shape
            scope[ERROR_KEY] = error
            if started:
                log.error(
                    "error after the response started (request %s)",
                    scope[REQUEST_ID_KEY],
                    exc_info=error,
                    extra=_REQUEST_LOGGED,
                )
                return
            await error_response(self._as_api_error(error, scope))(
                scope, receive, send_with_headers
            )
        finally:
            current_request_id.reset(id_token)

    @staticmethod
    def _as_api_error(error: Exception, scope: Scope) -> ApiError:
        if isinstance(error, ApiError):
            return error
        if isinstance(error, QueryTimeout):
            # As PocketBase answers a query past --queryTimeout: the request's fault.
            return ApiError(400, MSG_BAD_REQUEST)
        if isinstance(error, HTTPException):
            return http_error(error, scope["method"])
        if isinstance(error, WriteConflict):
            log.warning(
                "%s %s answered 409: %s", scope["method"], scope["path"], error,
                extra=_REQUEST_LOGGED,
            )  # fmt: skip
            return ApiError(409, MSG_CONFLICT)
        unavailable = _unavailable(error)
        if unavailable is not None:
            log.warning(
                "%s %s answered 503: %s", scope["method"], scope["path"], error,
                extra=_REQUEST_LOGGED,
            )  # fmt: skip
            return ApiError(503, unavailable)
        log.error(
            "unhandled error in %s %s (request %s)",
            scope["method"],
            scope["path"],
            scope.get(REQUEST_ID_KEY, ""),
            exc_info=error,
            extra=_REQUEST_LOGGED,
        )
        return ApiError(500, MSG_INTERNAL)


MSG_CONFLICT = "The request clashed with a concurrent change and was not applied, please try again."
MSG_UNAVAILABLE = "The database is unavailable right now, please try again later."
MSG_NO_SPACE = "There is no space left to store the data, please try again later."


def _unavailable(error: Exception) -> str | None:
    """The 503 message for a failure that is passing and not the request's fault.

    A lost database connection and a full disk are the operator's to fix; the
    client gets PocketBase's error shape at once rather than a 500 or a wait.
    """
    if isinstance(error, StorageFull) or (
        isinstance(error, OSError) and error.errno == errno.ENOSPC
    ):
        return MSG_NO_SPACE
    if isinstance(error, StoreUnavailable):
        return MSG_UNAVAILABLE
    return None
