"""OAuth2 endpoints: the code exchange, the redirect page that hands the code to the app,
and two for superusers: the catalogue of providers and Apple's client secret generator.

The redirect (``/api/oauth2-redirect``) is what the SDK's all-in-one
``authWithOAuth2({provider})`` registers as ``redirect_uri``: the provider
sends the browser there with ``state`` and ``code``; the page forwards them
to the realtime client whose id is ``state`` (topic ``@oauth2``), which then
calls ``auth-with-oauth2``. Apple posts the same fields as a form.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from keelbase.api.request import (
    app_of,
    fields_tree,
    query_of,
    read_body,
    read_raw,
    request_info,
    require_superuser,
)
from keelbase.api.responses import json_response
from keelbase.core.records.fields_picker import pick
from keelbase.errors import MSG_LOAD, ApiError
from keelbase.services.auth.apple_secret import generate_apple_client_secret
from keelbase.services.auth.oauth2_methods import provider_catalog

LOAD_ERROR = "An error occurred while loading the submitted data."
TOPIC = "@oauth2"
REDIRECT_BODY_LIMIT = 64 * 1024

SUCCESS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Auth completed</title></head>
<body><p>Auth completed. You can close this window and go back to the app.</p>
<script>window.close()</script></body></html>"""
FAILURE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Failed to authenticate</title></head>
<body><p>Failed to authenticate. You can close this window and go back to the app to try again.</p>
</body></html>"""


async def auth_with_oauth2(request: Request) -> Response:
    app = app_of(request)
    collection = app.auth.auth_collection(request.path_params["collection"])
    tree = fields_tree(request)
    body = await read_body(request, LOAD_ERROR)
    info = await request_info(request)
    expand = query_of(request).get("expand", "")
    result = await app.oauth2.auth_with_oauth2(collection, body, info, expand)
    return json_response(pick(result, tree))


async def oauth2_redirect(request: Request) -> Response:
    """Forward ``{state, code, error}`` to the waiting client; 200 with a page either way."""
    fields = await _redirect_fields(request)
    state, code, error = (fields.get(k, "") for k in ("state", "code", "error"))
    app = app_of(request)
    if not state:
        return HTMLResponse(FAILURE_PAGE)
    message: dict[str, Any] = {"state": state, "code": code}
    if error:
        message["error"] = error
    delivered = await app.realtime.send_to_client(state, TOPIC, message, unsubscribe=True)
    if not delivered or error or not code:
        return HTMLResponse(FAILURE_PAGE)
    if fields.get("user"):  # Apple's name, sent on the first consent only
        app.oauth2.remember_name(code, fields["user"])
    return HTMLResponse(SUCCESS_PAGE)


async def list_providers(request: Request) -> Response:
    """Every provider Keelbase offers (name, display name, logo), for a dashboard's picker."""
    require_superuser(await request_info(request))
    return json_response(pick(provider_catalog(), fields_tree(request)))


async def apple_client_secret(request: Request) -> Response:
    require_superuser(await request_info(request))
    tree = fields_tree(request)
    secret = generate_apple_client_secret(await read_body(request, MSG_LOAD))
    return json_response(pick({"secret": secret}, tree))


async def _redirect_fields(request: Request) -> dict[str, str]:
    """The query's fields (GET) or the posted form's / JSON's (POST); anything odd is empty."""
    if request.method == "GET":
        return {k: v for k, v in request.query_params.items()}
    try:
        raw = await read_raw(request, REDIRECT_BODY_LIMIT)
    except ApiError:
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)}
    return dict(parse_qsl(raw.decode("utf-8", "replace")))


routes = [
    Route("/api/collections/{collection}/auth-with-oauth2", auth_with_oauth2, methods=["POST"]),
    Route("/api/oauth2-redirect", oauth2_redirect, methods=["GET", "POST"]),
    Route("/api/collections/meta/oauth2-providers", list_providers, methods=["GET"]),
    Route("/api/settings/apple/generate-client-secret", apple_client_secret, methods=["POST"]),
]
