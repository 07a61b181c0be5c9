"""``/api/collections``: superusers manage collections."""

from __future__ import annotations

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
from keelbase.core.records.fields_picker import pick, pick_list_result
from keelbase.services.collections import dry_run
from keelbase.services.records.listing import ListParams

LOAD_ERROR = "Failed to load the collection type data due to invalid formatting."


async def _superuser(request: Request) -> None:
    require_superuser(await request_info(request))


async def list_collections(request: Request) -> Response:
    await _superuser(request)
    tree = fields_tree(request)
    params = ListParams.from_query(query_of(request))
    result = await app_of(request).collections.list_page(params)
    return json_response(pick_list_result(result, tree))


async def view_collection(request: Request) -> Response:
    await _superuser(request)
    tree = fields_tree(request)
    collection = app_of(request).collections.get(request.path_params["collection"])
    return json_response(pick(collection.to_json(), tree))


async def create_collection(request: Request) -> Response:
    await _superuser(request)
    tree = fields_tree(request)
    body = await read_body(request, LOAD_ERROR)
    collection = await app_of(request).collections.create(body)
    return json_response(pick(collection.to_json(), tree))


async def update_collection(request: Request) -> Response:
    await _superuser(request)
    tree = fields_tree(request)
    service = app_of(request).collections
    service.get(request.path_params["collection"])
    # PocketBase's update says "submitted data", its create "collection type data".
    body = await read_body(request, "Failed to load the submitted data due to invalid formatting.")
    collection = await service.update(request.path_params["collection"], body)
    return json_response(pick(collection.to_json(), tree))


async def delete_collection(request: Request) -> Response:
    await _superuser(request)
    await app_of(request).collections.delete(request.path_params["collection"])
    return no_content()


async def truncate_collection(request: Request) -> Response:
    await _superuser(request)
    app = app_of(request)
    collection = app.collections.get(request.path_params["collection"])
    await app.records.truncate(collection)
    return no_content()


async def import_collections(request: Request) -> Response:
    await _superuser(request)
    body = await read_body(request, "An error occurred while loading the submitted data.")
    await app_of(request).collections.import_collections(body)
    return no_content()


async def scaffolds(request: Request) -> Response:
    await _superuser(request)
    return json_response(app_of(request).collections.scaffolds())


async def dry_run_view(request: Request) -> Response:
    """The SDK's ``collections.dryRunViewQuery``: a view's fields and sample, nothing saved."""
    info = await request_info(request)
    require_superuser(info)
    tree = fields_tree(request)
    body = await read_body(request, "An error occurred while loading the submitted data.")
    app = app_of(request)
    result = await dry_run.dry_run_view(app.collections, app.records, body, info)
    return json_response(pick(result, tree))


routes = [
    Route("/api/collections", list_collections, methods=["GET"]),
    Route("/api/collections", create_collection, methods=["POST"]),
    Route("/api/collections/import", import_collections, methods=["PUT"]),
    Route("/api/collections/meta/scaffolds", scaffolds, methods=["GET"]),
    Route("/api/collections/meta/dry-run-view", dry_run_view, methods=["POST"]),
    Route("/api/collections/{collection}", view_collection, methods=["GET"]),
    Route("/api/collections/{collection}", update_collection, methods=["PATCH"]),
    Route("/api/collections/{collection}", delete_collection, methods=["DELETE"]),
    Route("/api/collections/{collection}/truncate", truncate_collection, methods=["DELETE"]),
]
