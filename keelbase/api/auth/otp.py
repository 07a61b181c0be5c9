"""One-time password endpoints of auth collections: request a code, sign in with it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, fields_tree, query_of, read_body, request_info
from keelbase.api.responses import json_response
from keelbase.core.records.fields_picker import pick

LOAD_ERROR = "An error occurred while loading the submitted data."
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


async def read_text_body(request: Request) -> Any:
    """The body; form values as the text that was sent.

    ``read_body`` types form values the way record fields want them ("123" is
    a number), but codes and ids are text: the typing is undone exactly
    (only a value whose text was canonical was typed).
    """
    body = await read_body(request, LOAD_ERROR)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in FORMS:
        return body
    return {key: _text(value) for key, value in body.items()}


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return value


async def request_otp(request: Request) -> Response:
    app = app_of(request)
    collection = app.auth.auth_collection(request.path_params["collection"])
    app.otp.ensure_enabled(collection)
    body = await read_text_body(request)
    return json_response(pick(await app.otp.request(collection, body), fields_tree(request)))


async def auth_with_otp(request: Request) -> Response:
    app = app_of(request)
    collection = app.auth.auth_collection(request.path_params["collection"])
    app.otp.ensure_enabled(collection)
    tree = fields_tree(request)
    body = await read_text_body(request)
    info = await request_info(request)
    expand = query_of(request).get("expand", "")
    result = await app.otp.auth_with_otp(collection, body, info, expand)
    return json_response(pick(result, tree))


routes = [
    Route("/api/collections/{collection}/request-otp", request_otp, methods=["POST"]),
    Route("/api/collections/{collection}/auth-with-otp", auth_with_otp, methods=["POST"]),
]
