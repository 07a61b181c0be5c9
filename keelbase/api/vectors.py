"""``/api/collections/{collection}/nearest``: nearest records by a vector field
(``services/vectors/``); GET takes the query string, POST a JSON body (long vectors)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, query_of, read_body, request_info
from keelbase.api.responses import json_response
from keelbase.errors import BadRequestError


async def nearest(request: Request) -> Response:
    app = app_of(request)
    collection = app.records.collection(request.path_params["collection"])
    info = await request_info(request)
    query = query_of(request)
    args: dict[str, Any] = dict(query)
    if request.method == "POST":
        body = await read_body(request, "An error occurred while loading the submitted data.")
        if not isinstance(body, dict):
            raise BadRequestError("An error occurred while loading the submitted data.")
        args.update(body)
    result = await app.vectors.nearest(collection, args, info, query.get("expand", ""))
    return json_response(result)


routes = [Route("/api/collections/{collection}/nearest", nearest, methods=["GET", "POST"])]
