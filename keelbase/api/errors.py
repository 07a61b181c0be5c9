"""Turns every failure into PocketBase's error shape; never leaks a traceback."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from keelbase.api.responses import error_response
from keelbase.errors import MSG_INTERNAL, MSG_NOT_FOUND, ApiError

log = logging.getLogger("keelbase.api")

MSG_FILE_NOT_FOUND = "File not found."


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Unmatched routes answer as PocketBase's router does: 404 for any method.

    A GET that matches no route falls through to the static files there, hence
    its "File not found."; a wrong method on a known path is a 404 too, not 405.
    """
    assert isinstance(exc, HTTPException)
    if exc.status_code in (404, 405):
        message = MSG_FILE_NOT_FOUND if request.method in ("GET", "HEAD") else MSG_NOT_FOUND
        return error_response(ApiError(404, message))
    return error_response(ApiError(exc.status_code, str(exc.detail)))


async def internal_error_handler(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get("keelbase.request_id", "")
    log.error("unhandled error in request %s", request_id, exc_info=exc)
    return error_response(ApiError(500, MSG_INTERNAL))
