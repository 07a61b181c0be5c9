"""One-time password endpoints of auth collections: request a code, sign in with it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, fields_tree, query_of, read_body, request_info
from keelbase.api.responses import json_response
from keelbase.core.fields_picker import pick

LOAD_ERROR = "An error occurred while loading the submitted data."


async def request_otp(request: Request) -> Response:
    app = app_of(request)
    collection = app.auth.auth_collection(request.path_params["collection"])
    app.otp.ensure_enabled(collection)
    body = await read_body(request, LOAD_ERROR)
    return json_response(pick(await app.otp.request(collection, body), fields_tree(request)))


async def auth_with_otp(request: Request) -> Response:
    app = app_of(request)
    collection = app.auth.auth_collection(request.path_params["collection"])
    app.otp.ensure_enabled(collection)
    tree = fields_tree(request)
    body = await read_body(request, LOAD_ERROR)
    info = await request_info(request)
    expand = query_of(request).get("expand", "")
    result = await app.otp.auth_with_otp(collection, body, info, expand)
    return json_response(pick(result, tree))


routes = [
    Route("/api/collections/{collection}/request-otp", request_otp, methods=["POST"]),
    Route("/api/collections/{collection}/auth-with-otp", auth_with_otp, methods=["POST"]),
]
