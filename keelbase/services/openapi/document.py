"""The OpenAPI 3.1 document: Keelbase's routes, and each collection's records and auth routes.

Pure data in, a JSON-ready dict out: no HTTP and no store, so the same schema
snapshot always gives the same document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.schema import Schema
from keelbase.services.openapi.fields import (
    JsonSchema,
    body_schema,
    multipart_schema,
    record_schema,
)
from keelbase.services.openapi.routes import ANYONE, SYSTEM_ROUTES, RouteInfo, is_per_collection

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA: JsonSchema = {
    "type": "object",
    "description": "PocketBase's error shape; `data` maps body keys to `{code, message}`.",
    "required": ["status", "message", "data"],
    "properties": {
        "status": {"type": "integer"},
        "message": {"type": "string"},
        "data": {"type": "object"},
    },
}
ERROR_TEXT = {
    "400": "Bad input (see `data`)",
    "401": "A token is needed",
    "403": "Not allowed",
    "404": "Not found",
    "413": "The body is too large",
    "429": "Too many requests",
}
# Every route may answer these: body limits, rate limits, superuserIPs and missing records.
COMMON_ERRORS = ("400", "401", "403", "404", "413", "429")
# Like records, nothing is required: ``?fields=`` may leave out any key.
AUTH_RESPONSE: JsonSchema = {
    "type": "object",
    "properties": {"token": {"type": "string"}, "record": {}, "meta": {"type": "object"}},
}
_CONVERTER = re.compile(r"\{(\w+):\w+\}")


def _param(name: str, where: str, schema: JsonSchema, text: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": where, "schema": schema}
    if where == "path":
        out["required"] = True
    if text:
        out["description"] = text
    return out


READ_PARAMS = [
    _param("expand", "query", {"type": "string"}, "Relations to expand: `author,tags.owner`"),
    _param("fields", "query", {"type": "string"}, "Keys to keep in the answer: `id,title`"),
]
LIST_PARAMS = [
    _param("page", "query", {"type": "integer"}, "1-based page"),
    _param("perPage", "query", {"type": "integer"}, "Items per page (at most 1000)"),
    _param("sort", "query", {"type": "string"}, "`-created,title`; `@random`"),
    _param("filter", "query", {"type": "string"}, "PocketBase's filter syntax"),
    _param("skipTotal", "query", {"type": "boolean"}, "Skip counting: totals are -1"),
    *READ_PARAMS,
]


def _json(schema: JsonSchema) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(ok: str, ok_schema: JsonSchema | None, ok_text: str) -> dict[str, Any]:
    responses: dict[str, Any] = {ok: {"description": ok_text}}
    if ok_schema is not None:
        responses[ok].update(_json(ok_schema))
    for code in COMMON_ERRORS:
        responses[code] = {"description": ERROR_TEXT[code], **_json(ERROR_REF)}
    return responses


def _operation(
    op_id: str,
    tag: str,
    summary: str,
    *,
    ok: str = "200",
    ok_schema: JsonSchema | None = None,
    ok_text: str = "OK",
    params: list[dict[str, Any]] | None = None,
    body: dict[str, JsonSchema] | None = None,
    secured: bool = True,
) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op_id, "tags": [tag], "summary": summary}
    if params:
        out["parameters"] = params
    if body:
        out["requestBody"] = {
            "required": True,
            "content": {media: {"schema": schema} for media, schema in body.items()},
        }
    out["responses"] = _responses(ok, ok_schema, ok_text)
    if not secured:
        out["security"] = [{}, {"token": []}]
    return out


def _ident(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


def _object(properties: dict[str, JsonSchema], required: Iterable[str] = ()) -> JsonSchema:
    out: JsonSchema = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    return out


def idents(schema: Schema) -> dict[str, str]:
    """A name per collection id for schemas and operation ids, unique across the schema.

    ``my_posts`` and ``myPosts`` would both be ``MyPosts``, and a name with no
    ASCII letter would be empty: the later ones (by name) get their id added.
    Built from every collection, so a guest and a superuser see the same names.
    """
    out: dict[str, str] = {}
    taken: set[str] = {"error"}
    for collection in sorted(schema, key=lambda c: c.name):
        ident = _ident(collection.name)
        if not ident or ident.lower() in taken:
            ident = f"{ident or 'Collection'}_{_ident(collection.id)}"
        taken.add(ident.lower())
        out[collection.id] = ident
    return out


def _bodies(collection: Collection, ident: str, create: bool) -> dict[str, JsonSchema]:
    kind = "Create" if create else "Update"
    out = {"application/json": {"$ref": f"#/components/schemas/{ident}{kind}"}}
    multipart = multipart_schema(collection, create=create)
    if multipart is not None:
        out["multipart/form-data"] = multipart
    return out


def record_paths(collection: Collection, ident: str) -> dict[str, dict[str, Any]]:
    name = collection.name
    record = {"$ref": f"#/components/schemas/{ident}Record"}
    page = _object(
        {
            "page": {"type": "integer"},
            "perPage": {"type": "integer"},
            "totalItems": {"type": "integer"},
            "totalPages": {"type": "integer"},
            "items": {"type": "array", "items": record},
        },
        ("page", "perPage", "totalItems", "totalPages", "items"),
    )
    id_param = _param("id", "path", {"type": "string"}, "The record's id")
    base = f"/api/collections/{name}/records"
    listing: dict[str, Any] = {
        "get": _operation(
            f"list{ident}", name, f"List {name} records", ok_schema=page, params=LIST_PARAMS
        )
    }
    one: dict[str, Any] = {
        "get": _operation(
            f"view{ident}", name, f"View a {name} record", ok_schema=record,
            params=[id_param, *READ_PARAMS],
        )
    }  # fmt: skip
    if not collection.is_view:
        listing["post"] = _operation(
            f"create{ident}", name, f"Create a {name} record", ok_schema=record,
            params=READ_PARAMS, body=_bodies(collection, ident, create=True),
        )  # fmt: skip
        one["patch"] = _operation(
            f"update{ident}", name, f"Update a {name} record", ok_schema=record,
            params=[id_param, *READ_PARAMS], body=_bodies(collection, ident, create=False),
        )  # fmt: skip
        one["delete"] = _operation(
            f"delete{ident}", name, f"Delete a {name} record", ok="204", ok_text="Deleted",
            params=[id_param],
        )  # fmt: skip
    return {base: listing, f"{base}/{{id}}": one}


def auth_paths(collection: Collection, ident: str) -> dict[str, dict[str, Any]]:
    name = collection.name
    base = f"/api/collections/{name}"
    auth = dict(AUTH_RESPONSE)
    auth["properties"] = {**AUTH_RESPONSE["properties"], "record": {"$ref": f"#/components/schemas/{ident}Record"}}  # fmt: skip
    text = {"type": "string"}
    actions: list[tuple[str, str, str, JsonSchema | None, JsonSchema | None]] = [
        # action, method, summary, body, answer (None: 204)
        ("auth-with-password", "post", "Sign in with a password",
         _object({"identity": text, "password": text, "identityField": text}, ("identity", "password")), auth),
        ("auth-refresh", "post", "A new token for the signed-in record", None, auth),
        ("auth-methods", "get", "The ways to sign in", None, {"type": "object"}),
        ("request-otp", "post", "Mail a one-time password",
         _object({"email": text}, ("email",)), _object({"otpId": text}, ("otpId",))),
        ("auth-with-otp", "post", "Sign in with a one-time password",
         _object({"otpId": text, "password": text}, ("otpId", "password")), auth),
        ("auth-with-oauth2", "post", "Sign in with an OAuth2 provider",
         _object({"provider": text, "code": text, "codeVerifier": text, "redirectURL": text,
                  "createData": {"type": "object"}}, ("provider", "code", "redirectURL")), auth),
        ("request-verification", "post", "Mail a verification link", _object({"email": text}, ("email",)), None),
        ("confirm-verification", "post", "Confirm a verification", _object({"token": text}, ("token",)), None),
        ("request-password-reset", "post", "Mail a password reset link",
         _object({"email": text}, ("email",)), None),
        ("confirm-password-reset", "post", "Set a new password",
         _object({"token": text, "password": text, "passwordConfirm": text},
                 ("token", "password", "passwordConfirm")), None),
        ("request-email-change", "post", "Mail an email change link",
         _object({"newEmail": text}, ("newEmail",)), None),
        ("confirm-email-change", "post", "Confirm an email change",
         _object({"token": text, "password": text}, ("token", "password")), None),
    ]  # fmt: skip
    paths: dict[str, dict[str, Any]] = {}
    for action, method, summary, body, answer in actions:
        op_id = _ident(action.replace("-", " ")) + ident
        op_id = op_id[0].lower() + op_id[1:]
        ok, ok_text = ("200", "OK") if answer is not None else ("204", "Done")
        paths[f"{base}/{action}"] = {
            method: _operation(
                op_id, name, summary, ok=ok, ok_schema=answer, ok_text=ok_text,
                body={"application/json": body} if body else None,
                params=READ_PARAMS if answer is auth else None,
                secured=action not in ("auth-refresh", "request-email-change"),
            )
        }  # fmt: skip
    paths[f"{base}/impersonate/{{id}}"] = {
        "post": _operation(
            f"impersonate{ident}", name, "A token for another record (superusers)",
            ok_schema=auth, params=[_param("id", "path", {"type": "string"})],
            body={"application/json": _object({"duration": {"type": "integer"}})},
        )
    }  # fmt: skip
    return paths


def system_paths(routes: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """Keelbase's other routes as the router has them, with what the table knows."""
    paths: dict[str, dict[str, Any]] = {}
    for method, raw_path in routes:
        path = _CONVERTER.sub(r"{\1}", raw_path)
        if method == "HEAD" or is_per_collection(path):
            continue
        info = SYSTEM_ROUTES.get((method, path), RouteInfo("other", f"{method} {path}"))
        names = re.findall(r"\{(\w+)\}", path)
        params = [_param(n, "path", {"type": "string"}) for n in names]
        op_id = method.lower() + _ident(path.replace("{", "by ").replace("}", ""))
        operation = _operation(
            op_id, info.tag, info.summary, ok_schema={}, params=params or None,
            body={"application/json": info.body} if info.body else None,
            secured=info.access != ANYONE,
        )  # fmt: skip
        operation["responses"]["204"] = {"description": "Done, nothing to return"}
        paths.setdefault(path, {})[method.lower()] = operation
    return paths


def visible(collection: Collection, superuser: bool) -> bool:
    """Superusers see every collection; others only those a rule opens to some caller."""
    if superuser:
        return True
    return collection.listRule is not None or collection.viewRule is not None


def build_document(
    schema: Schema, routes: Iterable[tuple[str, str]], *, superuser: bool, version: str
) -> dict[str, Any]:
    paths = system_paths(routes)
    components: dict[str, JsonSchema] = {"Error": ERROR_SCHEMA}
    names = idents(schema)
    for collection in sorted(schema, key=lambda c: c.name):
        if not visible(collection, superuser):
            continue
        ident = names[collection.id]
        components[f"{ident}Record"] = record_schema(collection)
        if not collection.is_view:
            components[f"{ident}Create"] = body_schema(collection, create=True)
            components[f"{ident}Update"] = body_schema(collection, create=False)
        paths.update(record_paths(collection, ident))
        if collection.is_auth:
            paths.update(auth_paths(collection, ident))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Keelbase API",
            "version": version,
            "description": (
                "PocketBase's Web API as served by Keelbase. "
                + (
                    "Every collection is described (superuser view)."
                    if superuser
                    else "Collections whose list and view rules are both superuser-only are left out."
                )
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "An auth token from an auth-with-* route, as it is.",
                }
            },
        },
        "security": [{"token": []}],
    }
