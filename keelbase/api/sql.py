"""``POST /api/sql``: a superuser's read query (see ``services/sql_console.py``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, fields_tree, read_body, request_info, require_superuser
from keelbase.api.responses import json_response
from keelbase.core.records.fields_picker import pick


async def sql(request: Request) -> Response:
    require_superuser(await request_info(request))
    tree = fields_tree(request)
    body = await read_body(request, "An error occurred while loading the submitted data.")
    return json_response(pick(await app_of(request).sql_console.run(body), tree))


routes = [Route("/api/sql", sql, methods=["POST"])]
