"""The ASGI application: one layer for headers and errors around Starlette's router.

Starlette's application stacks three wrappers (server errors, user middleware,
exception handlers) around every request; this class does the same work in one
``send`` wrapper, which matters on a path that runs thousands of times a second.
It keeps what other code relies on: ``router``, ``state`` and lifespan.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable

from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.routing import Router
from starlette.types import Message, Receive, Scope, Send

from keelbase.api.headers import SECURITY_HEADERS, cors_extra, preflight
from keelbase.api.responses import error_response
from keelbase.errors import MSG_INTERNAL, MSG_NOT_FOUND, ApiError

log = logging.getLogger("keelbase.api")
MSG_FILE_NOT_FOUND = "File not found."
# An incoming X-Request-Id is kept only when it looks like an id: no spaces, no
# markup, nothing a log line or a header could be broken with.
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
REQUEST_ID_KEY = "keelbase.request_id"


def request_id(incoming: bytes) -> bytes:
    """The request's id: the client's (or proxy's) when well-formed, else a new one."""
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return secrets.token_hex(12).encode()


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
        self.any_origin = "*" in origins
        self.origins = {o.encode() for o in origins}
        # Runs before routing when set (rate limits); may raise ApiError to answer instead.
        self.guard: Callable[[Scope], Awaitable[None]] | None = None

    def _allowed(self, origin: bytes) -> bytes | None:
        if self.any_origin:
            return b"*"
        return origin if origin in self.origins else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        if scope["type"] != "http":
            await self.router(scope, receive, send)
            return
        origin = b""
        wants_preflight = False
        requested_headers = b""
        incoming_id = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming_id = value
            elif name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                wants_preflight = True
            elif name == b"access-control-request-headers":
                requested_headers = value
        rid = request_id(incoming_id)
        scope[REQUEST_ID_KEY] = rid.decode()
        id_header = (b"x-request-id", rid)
        allowed = self._allowed(origin) if origin else None
        if wants_preflight and origin and scope["method"] == "OPTIONS":
            await preflight(send, allowed, requested_headers, id_header)
            return
        extra = [*SECURITY_HEADERS, *cors_extra(allowed, self.any_origin), id_header]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            if self.guard is not None:
                await self.guard(scope)
            await self.router(scope, receive, send_with_headers)
        except Exception as error:  # every failure gets PocketBase's error shape
            if started:
                log.error(
                    "error after the response started (request %s)",
                    scope[REQUEST_ID_KEY],
                    exc_info=error,
                )
                return
            await error_response(self._as_api_error(error, scope))(
                scope, receive, send_with_headers
            )

    @staticmethod
    def _as_api_error(error: Exception, scope: Scope) -> ApiError:
        if isinstance(error, ApiError):
            return error
        if isinstance(error, HTTPException):
            return http_error(error, scope["method"])
        log.error(
            "unhandled error in %s %s (request %s)",
            scope["method"],
            scope["path"],
            scope.get(REQUEST_ID_KEY, ""),
            exc_info=error,
        )
        return ApiError(500, MSG_INTERNAL)
