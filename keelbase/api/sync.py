"""``GET /api/sync/{collection}/changes`` and ``/checkpoint``: sync's change feed (ours)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, fields_tree, query_of, request_info
from keelbase.api.responses import json_response
from keelbase.core.records.fields_picker import pick
from keelbase.services.records.listing import MAX_FILTER_LENGTH, invalid_query


def _filter(query: dict[str, str]) -> str:
    text = query.get("filter", "")
    if len(text) > MAX_FILTER_LENGTH:
        raise invalid_query("filter", "max filter length limit reached")
    return text


async def changes(request: Request) -> Response:
    # Imported here: the sync service is built on first use, not at start (``App.sync``).
    from keelbase.services.sync.service import DEFAULT_LIMIT, MAX_LIMIT

    app = app_of(request)
    collection = app.records.collection(request.path_params["collection"])
    query = query_of(request)
    tree = fields_tree(request)
    raw_limit = query.get("limit") or str(DEFAULT_LIMIT)
    # ASCII digits only: str.isdigit takes "²", which int() refuses
    if not (raw_limit.isascii() and raw_limit.isdigit()):
        raise invalid_query("limit", "Must be a whole number.")
    info = await request_info(request)
    page = await app.sync.changes(
        collection,
        query.get("cursor", ""),
        info,
        limit=int(raw_limit) if len(raw_limit) <= len(str(MAX_LIMIT)) else MAX_LIMIT,
        filter=_filter(query),
        expand=query.get("expand", ""),
    )
    if tree:
        page["put"] = [pick(item, tree) for item in page["put"]]
    return json_response(page)


async def checkpoint(request: Request) -> Response:
    app = app_of(request)
    collection = app.records.collection(request.path_params["collection"])
    info = await request_info(request)
    return json_response(await app.sync.checkpoint(collection, info, _filter(query_of(request))))


routes = [
    Route("/api/sync/{collection}/changes", changes, methods=["GET"]),
    Route("/api/sync/{collection}/checkpoint", checkpoint, methods=["GET"]),
]
