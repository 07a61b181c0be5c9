"""``/api/collections/{collection}/records``: the records CRUD API."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, fields_tree, query_of, read_body, request_info
from keelbase.api.responses import json_response, no_content
from keelbase.core.collections.collection import Collection
from keelbase.core.fields import FileField
from keelbase.core.fields.file import DEFAULT_MAX_SIZE
from keelbase.core.records.fields_picker import pick, pick_list_result
from keelbase.errors import MSG_BAD_REQUEST, NotFoundError
from keelbase.services.records.listing import ListParams


async def list_records(request: Request) -> Response:
    app = app_of(request)
    collection = app.records.collection(request.path_params["collection"])
    tree = fields_tree(request)
    params = ListParams.from_query(query_of(request))
    info = await request_info(request)
    expand = query_of(request).get("expand", "")
    result = await app.records.list_page(collection, params, info, expand)
    return json_response(pick_list_result(result, tree))


async def view_record(request: Request) -> Response:
    app = app_of(request)
    collection = app.records.collection(request.path_params["collection"])
    tree = fields_tree(request)
    info = await request_info(request)
    expand = query_of(request).get("expand", "")
    record = await app.records.view(collection, request.path_params["id"], info, expand)
    return json_response(pick(record, tree))


def body_limit(request: Request, collection: Collection) -> int:
    """The server's limit, raised by what the collection's file fields may receive."""
    files = sum(
        (f.maxSize or DEFAULT_MAX_SIZE) * max(f.maxSelect, 1)
        for f in collection.fields
        if isinstance(f, FileField)
    )
    return app_of(request).config.max_body_size + files


def _written_collection(request: Request) -> Collection:
    """The collection a create or update writes to; PocketBase words its 404 differently here."""
    name = request.path_params["collection"]
    if app_of(request).records.schema.get(name) is None:
        raise NotFoundError("Missing or invalid collection context.")
    return app_of(request).records.collection(name)


async def create_record(request: Request) -> Response:
    app = app_of(request)
    collection = _written_collection(request)
    tree = fields_tree(request)
    info = await request_info(request)
    # A malformed body (JSON or ``@jsonPayload``): PocketBase's generic 400 message.
    body = await read_body(request, MSG_BAD_REQUEST, limit=body_limit(request, collection))
    expand = query_of(request).get("expand", "")
    record = await app.records.create(collection, body, info, expand)
    return json_response(pick(record, tree))


async def update_record(request: Request) -> Response:
    app = app_of(request)
    collection = _written_collection(request)
    tree = fields_tree(request)
    info = await request_info(request)
    body = await read_body(request, MSG_BAD_REQUEST, limit=body_limit(request, collection))
    expand = query_of(request).get("expand", "")
    record = await app.records.update(collection, request.path_params["id"], body, info, expand)
    return json_response(pick(record, tree))


async def delete_record(request: Request) -> Response:
    app = app_of(request)
    collection = app.records.collection(request.path_params["collection"])
    info = await request_info(request)
    await app.records.delete(collection, request.path_params["id"], info)
    return no_content()


routes = [
    Route("/api/collections/{collection}/records", list_records, methods=["GET"]),
    Route("/api/collections/{collection}/records", create_record, methods=["POST"]),
    Route("/api/collections/{collection}/records/{id}", view_record, methods=["GET"]),
    Route("/api/collections/{collection}/records/{id}", update_record, methods=["PATCH"]),
    Route("/api/collections/{collection}/records/{id}", delete_record, methods=["DELETE"]),
]
