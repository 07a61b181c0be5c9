"""Automigrate: collection changes through the API become migration files that replay exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from keelbase import App
from tests.services.migrations.support import (
    another_database,
    applied_files,
    make_app,
    schema_json,
    table_names,
)

pytestmark = pytest.mark.anyio

ADMIN = ("admin@example.com", "Passw0rd123")


@pytest.fixture
def replay_db_url(db_url: str) -> Iterator[str]:
    """A second empty database of the same kind as ``db_url``."""
    with another_database(db_url) as url:
        yield url


@asynccontextmanager
async def api(app: App) -> AsyncIterator[httpx.AsyncClient]:
    """A superuser's client for ``app``, through its ASGI app in-process."""
    async with app:
        await app.superusers.upsert(*ADMIN)
        transport = httpx.ASGITransport(app=app.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://kb") as client:
            signed = await client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": ADMIN[0], "password": ADMIN[1]},
            )
            assert signed.status_code == 200, signed.text
            client.headers["Authorization"] = signed.json()["token"]
            yield client


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 204), response.text
    return response.json() if response.status_code == 200 else None


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.py"))


async def make_changes(client: httpx.AsyncClient) -> None:
    """A day of work in the dashboard: every kind of collection change."""
    tags = ok(
        await client.post(
            "/api/collections", json={"name": "tags", "fields": [{"name": "label", "type": "text"}]}
        )
    )
    posts = ok(
        await client.post(
            "/api/collections",
            json={
                "name": "posts",
                "listRule": "",
                "viewRule": "author = @request.auth.id",
                "fields": [
                    {"name": "title", "type": "text", "required": True, "max": 120},
                    {"name": "body", "type": "editor"},
                    {
                        "name": "tags",
                        "type": "relation",
                        "collectionId": tags["id"],
                        "maxSelect": 9,
                    },
                    {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_"},
                    {"name": "cover", "type": "file", "maxSelect": 1, "maxSize": 5000000},
                    {"name": "created", "type": "autodate", "onCreate": True},
                ],
                "indexes": ["CREATE INDEX idx_posts_title ON posts (title)"],
            },
        )
    )
    ok(
        await client.post(
            "/api/collections",
            json={
                "name": "members",
                "type": "auth",
                "manageRule": "@request.auth.id != ''",
                "passwordAuth": {"enabled": True, "identityFields": ["email"]},
                "fields": [{"name": "nickname", "type": "text"}],
            },
        )
    )
    # a rename, a removed field, a new one, a changed rule and index
    fields = [f for f in posts["fields"] if f["name"] != "body"]
    for field in fields:
        if field["name"] == "title":
            field["name"] = "headline"
    fields.append({"name": "score", "type": "number", "onlyInt": True})
    ok(
        await client.patch(
            "/api/collections/posts",
            json={
                "fields": fields,
                "listRule": "headline != ''",
                "indexes": ["CREATE INDEX idx_posts_headline ON posts (headline)"],
            },
        )
    )
    ok(
        await client.post(
            "/api/collections",
            json={
                "name": "headlines",
                "type": "view",
                "listRule": "",
                "viewQuery": "SELECT id, headline, score FROM posts",
            },
        )
    )
    ok(await client.patch("/api/collections/users", json={"listRule": "verified = true"}))
    ok(
        await client.put(
            "/api/collections/import",
            json={
                "collections": [
                    {"name": "notes", "fields": [{"name": "text", "type": "text"}]},
                    {**tags, "listRule": "", "created": "", "updated": ""},
                ]
            },
        )
    )
    ok(await client.delete("/api/collections/members"))


async def test_replaying_the_folder_gives_the_same_collections(
    tmp_path: Path, db_url: str, replay_db_url: str
) -> None:
    folder = tmp_path / "kb_migrations"
    source = make_app(tmp_path / "source", db_url, folder, dev=True)
    async with api(source) as client:
        fresh = schema_json(source)
        await make_changes(client)
        # a refused change and a change that changes nothing write nothing
        refused = await client.post("/api/collections", json={"name": "posts"})
        assert refused.status_code == 400
        ok(await client.patch("/api/collections/notes", json={}))
        written = files(folder)
        assert await applied_files(source) == written
        expected = schema_json(source)
    assert [name.split("_", 1)[1] for name in written] == [
        "created_tags.py",
        "created_posts.py",
        "created_members.py",
        "updated_posts.py",
        "created_headlines.py",
        "updated_users.py",
        "imported_collections.py",
        "deleted_members.py",
    ]

    # an empty app on another database, started as keelbase serve starts it
    target = make_app(tmp_path / "target", replay_db_url, folder, apply_migrations=True, dev=True)
    async with target:
        assert target.applied_at_start == written
        assert schema_json(target) == expected
        assert files(folder) == written  # a migration's own changes are not recorded again
        assert {"posts", "tags", "notes", "headlines"} <= await table_names(target)
        # and every step undoes: back to a fresh app's collections
        assert await target.migrations.down(len(written)) == list(reversed(written))
        assert schema_json(target) == fresh
        assert {"posts", "tags", "notes", "headlines", "members"}.isdisjoint(
            await table_names(target)
        )


async def test_automigrate_follows_dev_unless_told(tmp_path: Path) -> None:
    for name, options, writes in (
        ("plain", {}, False),
        ("dev", {"dev": True}, True),
        ("dev-off", {"dev": True, "automigrate": False}, False),
        ("on", {"automigrate": True}, True),
    ):
        folder = tmp_path / name / "kb_migrations"
        async with api(make_app(tmp_path / name / "kb_data", "", folder, **options)) as client:
            ok(await client.post("/api/collections", json={"name": "things"}))
        assert bool(files(folder)) is writes, name


async def test_a_change_rolled_back_later_leaves_no_file(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "kb_migrations"
    async with make_app(tmp_path / "kb_data", db_url, folder, automigrate=True) as app:
        with pytest.raises(RuntimeError):
            async with app.transaction():
                await app.collections.create({"name": "brief", "fields": []})
                assert len(files(folder)) == 1
                raise RuntimeError("changed my mind")
        assert files(folder) == []
        assert await applied_files(app) == []
        assert app.collections.schema.get("brief") is None


async def test_quotes_and_backslashes_survive_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "kb_migrations"
    nasty = "title != '\"\"\"' && title != \"'''\" && title !~ 'a\\b' && title != 'é ✓'"
    async with make_app(tmp_path / "a", "", folder, automigrate=True) as app:
        await app.collections.create(
            {"name": "odd", "fields": [{"name": "title", "type": "text", "pattern": "^\\w+\\\\$"}]}
        )
        await app.collections.update("odd", {"listRule": nasty})
        expected = schema_json(app)
    assert app.collections.get("odd").listRule == nasty
    text = next(folder.glob("*_updated_odd.py")).read_text()
    assert "- listRule: null ->" in text
    async with make_app(tmp_path / "b", "", folder, apply_migrations=True) as replay:
        assert schema_json(replay) == expected


SECRET = "gh-client-secret-4b1d"
PROVIDERS = [{"name": "github", "clientId": "gh-client-id", "clientSecret": SECRET}]


async def test_oauth2_client_secrets_never_reach_a_file_and_replays_keep_them(
    tmp_path: Path, db_url: str, replay_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OAuth2 providers (and their client secrets) stay out of migration files, as
    PocketBase's automigrate leaves them out, with --encryptionEnv or without (the
    source app here has it); a replayed update keeps the providers the target already
    has instead of removing them."""
    monkeypatch.setenv("KB_TEST_AUTOMIGRATE_KEY", "0123456789abcdef0123456789abcdef")
    folder = tmp_path / "kb_migrations"
    source = make_app(
        tmp_path / "source", db_url, folder, dev=True, encryption_env="KB_TEST_AUTOMIGRATE_KEY"
    )
    async with api(source) as client:
        created = ok(
            await client.post(
                "/api/collections",
                json={
                    "name": "clients",
                    "type": "auth",
                    "oauth2": {"enabled": True, "providers": PROVIDERS},
                    "fields": [{"name": "nickname", "type": "text"}],
                },
            )
        )
        ok(
            await client.patch(
                "/api/collections/clients",
                json={"listRule": "", "oauth2": {"enabled": True, "providers": PROVIDERS}},
            )
        )
        ok(
            await client.put(
                "/api/collections/import",
                json={
                    "collections": [
                        {
                            **created,
                            "listRule": "",
                            "viewRule": "",
                            "oauth2": {"enabled": True, "providers": PROVIDERS},
                        }
                    ]
                },
            )
        )
    written = files(folder)
    assert len(written) == 3, written
    for name in written:
        text = (folder / name).read_text()
        assert SECRET not in text and "kb-encrypted" not in text, name
        assert "gh-client-id" not in text, name
        assert "OAuth2 providers" in text, name  # the file says what it leaves out

    # The target got the collection, then its owner configured GitHub sign-in there;
    # the later migrations must not remove it.
    first, *later = written
    replay = tmp_path / "replay_migrations"
    replay.mkdir()
    (replay / first).write_text((folder / first).read_text())
    target_dir = tmp_path / "target"
    async with make_app(target_dir, replay_db_url, replay, apply_migrations=True) as target:
        assert target.applied_at_start == [first]
        await target.collections.update(
            "clients", {"oauth2": {"enabled": True, "providers": PROVIDERS}}
        )
    for name in later:
        (replay / name).write_text((folder / name).read_text())
    async with make_app(target_dir, replay_db_url, replay, apply_migrations=True) as target:
        assert target.applied_at_start == later
        collection = target.collections.get("clients")
        assert collection.listRule == "" and collection.viewRule == ""
        providers = collection.to_json(with_secrets=True)["oauth2"]["providers"]
        assert [(p["name"], p["clientId"], p["clientSecret"]) for p in providers] == [
            ("github", "gh-client-id", SECRET)
        ]
