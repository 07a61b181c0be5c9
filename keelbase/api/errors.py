"""Turns every failure into PocketBase's error shape; never leaks a traceback."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from keelbase.api.responses import error_response
from keelbase.errors import MSG_INTERNAL, MSG_NOT_FOUND, ApiError

log = logging.getLogger("keelbase.api")

_HTTP_MESSAGES = {
    404: MSG_NOT_FOUND,
    405: "Method Not Allowed",
}


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    return error_response(ApiError(exc.status_code, message))


async def internal_error_handler(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get("keelbase.request_id", "")
    log.error("unhandled error in request %s", request_id, exc_info=exc)
    return error_response(ApiError(500, MSG_INTERNAL))
