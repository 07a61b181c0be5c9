"""Auth endpoints of auth collections: password sign-in, refresh, methods."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.rate_limit import client_ip
from keelbase.api.request import app_of, fields_tree, query_of, read_body, request_info, token_of
from keelbase.api.responses import json_response
from keelbase.core.records.fields_picker import pick

LOAD_ERROR = "An error occurred while loading the submitted data."


async def auth_with_password(request: Request) -> Response:
    app = app_of(request)
    collection = app.auth.auth_collection(request.path_params["collection"])
    tree = fields_tree(request)
    body = await read_body(request, LOAD_ERROR)
    info = await request_info(request)
    expand = query_of(request).get("expand", "")
    ip = client_ip(app, request.scope)
    result = await app.auth.auth_with_password(collection, body, info, expand, client_ip=ip)
    return json_response(pick(result, tree))


async def auth_refresh(request: Request) -> Response:
    app = app_of(request)
    collection = app.auth.auth_collection(request.path_params["collection"])
    tree = fields_tree(request)
    info = await request_info(request)
    expand = query_of(request).get("expand", "")
    result = await app.auth.refresh(collection, info, token_of(request), expand)
    return json_response(pick(result, tree))


async def auth_methods(request: Request) -> Response:
    app = app_of(request)
    collection = app.auth.auth_collection(request.path_params["collection"])
    return json_response(pick(app.auth.methods(collection), fields_tree(request)))


routes = [
    Route("/api/collections/{collection}/auth-with-password", auth_with_password, methods=["POST"]),
    Route("/api/collections/{collection}/auth-refresh", auth_refresh, methods=["POST"]),
    Route("/api/collections/{collection}/auth-methods", auth_methods, methods=["GET"]),
]
