"""``GET /api/dashboard/collections``: what the dashboard shows a signed-in editor.

An editor is a record of an auth collection other than ``_superusers``. It may not
read ``/api/collections``, so this route tells the dashboard which collections to
offer it: those whose list rule is not superuser-only (``null``), the same set
``/api/openapi.json`` already describes to anyone. Each comes with its id, name,
type and fields, hidden fields left out (their names too), and ``access``: for
each action, whether its rule lets anyone but superusers try (``false`` when the
rule is ``null``).
The rules' text is not sent: the records API applies them to every request, so
this route grants nothing. A guest gets 401; a superuser gets the same list.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, request_info, require_auth
from keelbase.api.responses import json_response
from keelbase.core.collections.collection import Collection
from keelbase.core.fields import Field, VectorField

ACTIONS = (
    ("list", "listRule"),
    ("view", "viewRule"),
    ("create", "createRule"),
    ("update", "updateRule"),
    ("delete", "deleteRule"),
)


def editor_view(collection: Collection) -> dict[str, Any]:
    """The part of a collection an editor's dashboard needs, without rules or hidden fields."""
    writable = not collection.is_view
    hidden = {f.name for f in collection.fields if f.hidden}
    return {
        "id": collection.id,
        "name": collection.name,
        "type": collection.type,
        "system": collection.system,
        "fields": [_shown(f, hidden) for f in collection.fields if not f.hidden],
        "access": {
            action: getattr(collection, rule) is not None
            and (writable or action in ("list", "view"))
            for action, rule in ACTIONS
        },
    }


def _shown(field: Field, hidden: set[str]) -> dict[str, Any]:
    """A field's definition, without the names of hidden fields (a vector's ``embedFrom``)."""
    shown = field.to_json()
    if isinstance(field, VectorField) and hidden:
        shown["embedFrom"] = [name for name in field.embedFrom if name not in hidden]
    return shown


async def editor_collections(request: Request) -> Response:
    require_auth(await request_info(request))
    schema = app_of(request).collections.schema
    shown = sorted((c for c in schema if c.listRule is not None), key=lambda c: (c.system, c.name))
    return json_response({"items": [editor_view(c) for c in shown]})


routes = [Route("/api/dashboard/collections", editor_collections, methods=["GET"])]
