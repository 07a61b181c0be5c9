"""``GET /api/collections/{collection}/aggregate``: our counts and sums (docs/aggregates.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, query_of, request_info
from keelbase.api.responses import json_response


async def aggregate_records(request: Request) -> Response:
    # Imported here: the aggregator is built on first use, not at start (``App.aggregates``).
    from keelbase.services.records.aggregate import AggregateParams

    app = app_of(request)
    collection = app.records.collection(request.path_params["collection"])
    params = AggregateParams.from_query(query_of(request))
    info = await request_info(request)
    return json_response(await app.aggregates.aggregate(collection, params, info))


routes = [
    Route("/api/collections/{collection}/aggregate", aggregate_records, methods=["GET"]),
]
