"""Mail-based auth endpoints: verification, password reset and email change.

Each parses the request and calls one service; bodies are read only when the
service asks (``lazy_body``), after its own first checks, as PocketBase orders them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, lazy_body, request_info
from keelbase.api.responses import no_content


async def request_verification(request: Request) -> Response:
    service = app_of(request).auth_mail
    await service.request_verification(request.path_params["collection"], lazy_body(request))
    return no_content()


async def confirm_verification(request: Request) -> Response:
    service = app_of(request).auth_mail
    await service.confirm_verification(request.path_params["collection"], lazy_body(request))
    return no_content()


async def request_password_reset(request: Request) -> Response:
    service = app_of(request).auth_mail
    await service.request_password_reset(request.path_params["collection"], lazy_body(request))
    return no_content()


async def confirm_password_reset(request: Request) -> Response:
    service = app_of(request).auth_mail
    await service.confirm_password_reset(request.path_params["collection"], lazy_body(request))
    return no_content()


async def request_email_change(request: Request) -> Response:
    service = app_of(request).auth_mail
    info = await request_info(request)
    await service.request_email_change(request.path_params["collection"], info, lazy_body(request))
    return no_content()


async def confirm_email_change(request: Request) -> Response:
    service = app_of(request).auth_mail
    await service.confirm_email_change(request.path_params["collection"], lazy_body(request))
    return no_content()


_C = "/api/collections/{collection}"
routes = [
    Route(f"{_C}/request-verification", request_verification, methods=["POST"]),
    Route(f"{_C}/confirm-verification", confirm_verification, methods=["POST"]),
    Route(f"{_C}/request-password-reset", request_password_reset, methods=["POST"]),
    Route(f"{_C}/confirm-password-reset", confirm_password_reset, methods=["POST"]),
    Route(f"{_C}/request-email-change", request_email_change, methods=["POST"]),
    Route(f"{_C}/confirm-email-change", confirm_email_change, methods=["POST"]),
]
