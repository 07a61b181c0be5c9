"""``GET /api/openapi.json``: who sees which collections, and a schema change shows at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.api.conftest import serving, superuser_headers

SECRET = {
    "name": "secrets", "type": "base",
    "fields": [{"name": "code", "type": "text", "required": True, "max": 8}],
}  # fmt: skip
OPEN = {
    "name": "posts", "type": "base", "listRule": "", "viewRule": None,
    "fields": [
        {"name": "title", "type": "text", "required": True, "max": 100},
        {"name": "views", "type": "number", "onlyInt": True, "min": 0},
        {"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2},
        {"name": "draft", "type": "bool"},
    ],
}  # fmt: skip


def paths(doc: dict[str, Any]) -> set[str]:
    return set(doc["paths"])


async def _test_guests_see_routes_and_open_collections_superusers_see_all(
    tmp_path: Path, db_url: str
) -> None:
    async with serving(tmp_path / "kb", db_url) as (app, client):
        admin = await superuser_headers(app, client)
        for body in (SECRET, OPEN):
            assert (
                await client.post("/api/collections", json=body, headers=admin)
            ).status_code == 200

        guest = (await client.get("/api/openapi.json")).json()
        assert guest["openapi"] == "3.1.0"
        assert {"/api/health", "/api/collections", "/api/batch"} <= paths(guest)
        assert "/api/collections/posts/records" in paths(guest)
        assert not any(p.startswith("/api/collections/secrets/") for p in paths(guest))
        assert not any(p.startswith("/api/collections/_superusers/") for p in paths(guest))
        assert "SecretsRecord" not in guest["components"]["schemas"]

        full = (await client.get("/api/openapi.json", headers=admin)).json()
        assert "/api/collections/secrets/records/{id}" in paths(full)
        assert "/api/collections/_superusers/auth-with-password" in paths(full)
        create = full["components"]["schemas"]["SecretsCreate"]
        assert create["required"] == ["code"]
        assert create["properties"]["code"] == {"type": "string", "maxLength": 8}


async def _test_fields_give_types_required_keys_and_list_parameters(
    tmp_path: Path, db_url: str
) -> None:
    async with serving(tmp_path / "kb", db_url) as (app, client):
        admin = await superuser_headers(app, client)
        assert (await client.post("/api/collections", json=OPEN, headers=admin)).status_code == 200
        doc = (await client.get("/api/openapi.json")).json()
        schemas = doc["components"]["schemas"]
        create = schemas["PostsCreate"]
        assert create["required"] == ["title"]
        assert create["properties"]["views"] == {"type": "integer", "minimum": 0}
        assert create["properties"]["tags"]["items"]["enum"] == ["a", "b"]
        assert "created" not in create["properties"]  # autodate: set by the server
        record = schemas["PostsRecord"]["properties"]
        assert record["draft"] == {"type": "boolean"}
        assert record["collectionName"]["const"] == "posts"
        listing = doc["paths"]["/api/collections/posts/records"]["get"]
        names = {p["name"] for p in listing["parameters"]}
        assert names == {"page", "perPage", "sort", "filter", "expand", "fields", "skipTotal"}
        for code in ("400", "401", "403", "404"):
            error = listing["responses"][code]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}
        assert schemas["Error"]["required"] == ["status", "message", "data"]
        users = doc["paths"]["/api/collections/users/auth-with-password"]["post"]
        assert users["requestBody"]["content"]["application/json"]["schema"]["required"] == [
            "identity",
            "password",
        ]


async def _test_a_schema_change_shows_in_the_next_document(tmp_path: Path, db_url: str) -> None:
    async with serving(tmp_path / "kb", db_url) as (app, client):
        admin = await superuser_headers(app, client)
        before = (await client.get("/api/openapi.json")).json()
        assert "/api/collections/posts/records" not in paths(before)
        created = await client.post("/api/collections", json=OPEN, headers=admin)
        after = (await client.get("/api/openapi.json")).json()
        assert "/api/collections/posts/records" in paths(after)
        change = {"fields": [*created.json()["fields"], {"name": "score", "type": "number"}]}
        patched = await client.patch("/api/collections/posts", json=change, headers=admin)
        assert patched.status_code == 200, patched.text
        again = (await client.get("/api/openapi.json")).json()
        assert again["components"]["schemas"]["PostsRecord"]["properties"]["score"] == {
            "type": "number"
        }
        hidden = await client.patch(
            "/api/collections/posts", json={"listRule": None}, headers=admin
        )
        assert hidden.status_code == 200
        assert "/api/collections/posts/records" not in paths(
            (await client.get("/api/openapi.json")).json()
        )


def test_guests_see_routes_and_open_collections_superusers_see_all(
    tmp_path: Path, db_url: str
) -> None:
    asyncio.run(_test_guests_see_routes_and_open_collections_superusers_see_all(tmp_path, db_url))


def test_fields_give_types_required_keys_and_list_parameters(tmp_path: Path, db_url: str) -> None:
    asyncio.run(_test_fields_give_types_required_keys_and_list_parameters(tmp_path, db_url))


def test_a_schema_change_shows_in_the_next_document(tmp_path: Path, db_url: str) -> None:
    asyncio.run(_test_a_schema_change_shows_in_the_next_document(tmp_path, db_url))


def test_every_route_of_keelbase_is_in_the_table(tmp_path: Path) -> None:
    """A new route gets a summary, a tag and its access here, or this fails."""
    from starlette.routing import Route

    from keelbase import App, Config
    from keelbase.services.openapi.routes import SYSTEM_ROUTES, is_per_collection

    app = App(Config(data_dir=tmp_path / "kb"))
    missing = [
        (method, route.path)
        for route in app.asgi.router.routes
        if isinstance(route, Route)
        for method in sorted(route.methods or ())
        if method != "HEAD"
        and route.path != "/_"  # the dashboard's redirect to /_/, not part of the API
        and not is_per_collection(route.path)
        and (method, route.path.replace(":path}", "}")) not in SYSTEM_ROUTES
    ]
    assert missing == []
