"""Mail-based auth endpoints (verification, password reset, email change), impersonation
and the settings' test email. Each parses the request and calls one service."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import (
    app_of,
    fields_tree,
    query_of,
    read_body,
    request_info,
    require_superuser,
)
from keelbase.api.responses import json_response, no_content
from keelbase.core.fields_picker import pick
from keelbase.services.mail_forms import MSG_LOAD


def _loader(request: Request) -> Any:
    """Reads the body when the service asks for it, after its own first checks."""
    return partial(read_body, request, MSG_LOAD)


async def request_verification(request: Request) -> Response:
    service = app_of(request).auth_mail
    await service.request_verification(request.path_params["collection"], _loader(request))
    return no_content()


async def confirm_verification(request: Request) -> Response:
    service = app_of(request).auth_mail
    await service.confirm_verification(request.path_params["collection"], _loader(request))
    return no_content()


async def request_password_reset(request: Request) -> Response:
    service = app_of(request).auth_mail
    await service.request_password_reset(request.path_params["collection"], _loader(request))
    return no_content()


async def confirm_password_reset(request: Request) -> Response:
    service = app_of(request).auth_mail
    await service.confirm_password_reset(request.path_params["collection"], _loader(request))
    return no_content()


async def request_email_change(request: Request) -> Response:
    service = app_of(request).auth_mail
    info = await request_info(request)
    await service.request_email_change(request.path_params["collection"], info, _loader(request))
    return no_content()


async def confirm_email_change(request: Request) -> Response:
    service = app_of(request).auth_mail
    await service.confirm_email_change(request.path_params["collection"], _loader(request))
    return no_content()


async def impersonate(request: Request) -> Response:
    app = app_of(request)
    tree = fields_tree(request)
    info = await request_info(request)
    result = await app.impersonation.impersonate(
        request.path_params["collection"],
        request.path_params["id"],
        info,
        _loader(request),
        query_of(request).get("expand", ""),
    )
    return json_response(pick(result, tree))


async def test_email(request: Request) -> Response:
    require_superuser(await request_info(request))
    await app_of(request).test_email.send(_loader(request))
    return no_content()


_C = "/api/collections/{collection}"
routes = [
    Route(f"{_C}/request-verification", request_verification, methods=["POST"]),
    Route(f"{_C}/confirm-verification", confirm_verification, methods=["POST"]),
    Route(f"{_C}/request-password-reset", request_password_reset, methods=["POST"]),
    Route(f"{_C}/confirm-password-reset", confirm_password_reset, methods=["POST"]),
    Route(f"{_C}/request-email-change", request_email_change, methods=["POST"]),
    Route(f"{_C}/confirm-email-change", confirm_email_change, methods=["POST"]),
    Route(f"{_C}/impersonate/{{id}}", impersonate, methods=["POST"]),
    Route("/api/settings/test/email", test_email, methods=["POST"]),
]
