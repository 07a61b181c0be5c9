"""What the dashboard shows an editor: ``GET /api/dashboard/collections`` once signed in,
``GET /api/dashboard/auth-collections`` at its sign-in page.

An editor is a record of an auth collection other than ``_superusers``. It may not
read ``/api/collections``, so this route tells the dashboard which collections to
offer it: those whose list rule is not superuser-only (``null``), the same set
``/api/openapi.json`` already describes to anyone. Each comes with its id, name,
type and fields, hidden fields left out (their names too), and ``access``: for
each action, whether its rule lets anyone but superusers try (``false`` when the
rule is ``null``).
The rules' text is not sent: the records API applies them to every request, so
this route grants nothing. A guest gets 401; a superuser gets the same list.

The sign-in page offers the auth collections an editor may sign in to: the names
of those other than ``_superusers`` with password, OTP or OAuth2 sign-in on. It
is public (nobody is signed in yet) and answers names only: each of them already
answers ``GET /api/collections/{name}/auth-methods`` to anyone, so the list
saves a guess, nothing more.
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
from keelbase.core.request_info import SUPERUSERS

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


def _signs_in(collection: Collection) -> bool:
    options = collection.auth
    if options is None or collection.name == SUPERUSERS:
        return False
    return options.passwordAuth.enabled or options.otp.enabled or options.oauth2.enabled


async def editor_auth_collections(request: Request) -> Response:
    schema = app_of(request).collections.schema
    names = sorted(c.name for c in schema if _signs_in(c))
    return json_response({"items": [{"name": name} for name in names]})


routes = [
    Route("/api/dashboard/collections", editor_collections, methods=["GET"]),
    Route("/api/dashboard/auth-collections", editor_auth_collections, methods=["GET"]),
]
