"""A shared world for API tests: superuser, two users, and tokens."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image
from starlette.testclient import TestClient

from keelbase import App, Config
from tests.api.scenario import World
from tests.mail_catcher import MailCatcher, running_catcher
from tests.pg import STORES, fresh_database

ADMIN = ("admin@example.com", "Passw0rd123")
PASSWORD = "Passw0rd123"


@pytest.fixture(scope="module", params=STORES)
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each module runs once on SQLite ("") and once on a fresh PostgreSQL database.

    Tests marked ``xfail_postgres(reason)`` are expected to fail on PostgreSQL only.
    """
    if request.param == "sqlite":
        yield ""
        return
    with fresh_database() as url:
        yield url


@pytest.fixture(params=STORES)
def fresh_db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Like ``db_url``, with a database of its own for each test."""
    if request.param == "sqlite":
        yield ""
        return
    with fresh_database() as url:
        yield url


@pytest.fixture
def app(tmp_path: Path, fresh_db_url: str) -> App:
    return App(Config(data_dir=tmp_path / "kb_data", db_url=fresh_db_url))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "xfail_postgres(reason): expected to fail on PostgreSQL (the reason says why)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("xfail_postgres")
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None:
            continue
        if "postgres" not in (callspec.params.get("db_url"), callspec.params.get("fresh_db_url")):
            continue
        reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
        item.add_marker(pytest.mark.xfail(reason=f"PostgreSQL: {reason}", strict=True))


@asynccontextmanager
async def serving(data_dir: Path, db_url: str = "") -> AsyncIterator[tuple[App, httpx.AsyncClient]]:
    """A started app and an async client for it, for tests that send requests at once.

    The client goes through the ASGI app in-process, on the test's own event
    loop, so concurrent requests really interleave (and on PostgreSQL run on
    several connections side by side).
    """
    async with App(Config(data_dir=data_dir, db_url=db_url)) as app:
        transport = httpx.ASGITransport(app=app.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://kb") as client:
            yield app, client


async def superuser_headers(app: App, client: httpx.AsyncClient) -> dict[str, str]:
    """Create the superuser ``ADMIN`` and sign in: the headers its requests carry."""
    await app.superusers.upsert(*ADMIN)
    signed = await client.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": ADMIN[0], "password": ADMIN[1]},
    )
    assert signed.status_code == 200, signed.text
    return {"Authorization": signed.json()["token"]}


def make_world(data_dir: Path, db_url: str = "") -> Iterator[World]:
    """Start an app in-process, create the superuser and two users, and sign them in."""

    async def create_superuser() -> None:
        async with App(Config(data_dir=data_dir, db_url=db_url)) as app:
            await app.superusers.upsert(*ADMIN)

    asyncio.run(create_superuser())
    app = App(Config(data_dir=data_dir, db_url=db_url))
    with TestClient(app.asgi, raise_server_exceptions=False) as client:
        world = World(client)
        response = client.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": ADMIN[0], "password": ADMIN[1]},
        )
        assert response.status_code == 200, response.text
        world.tokens["superuser"] = response.json()["token"]
        for name in ("user1", "user2"):
            email = f"{name}@example.com"
            created = client.post(
                "/api/collections/users/records",
                json={
                    "email": email,
                    "password": PASSWORD,
                    "passwordConfirm": PASSWORD,
                    "name": name,
                },
            )
            assert created.status_code == 200, created.text
            world.ids[name] = created.json()["id"]
            signed = client.post(
                "/api/collections/users/auth-with-password",
                json={"identity": email, "password": PASSWORD},
            )
            assert signed.status_code == 200, signed.text
            world.tokens[name] = signed.json()["token"]
        yield world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, db_url: str) -> Iterator[World]:
    yield from make_world(tmp_path_factory.mktemp("world") / "kb_data", db_url)


def png(width: int = 40, height: int = 20, color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def files_world(world: World) -> World:
    created = world.request("POST", "/api/collections", "superuser", json={
        "name": "docs", "listRule": "", "viewRule": "owner = @request.auth.id || public = true",
        "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "public", "type": "bool"},
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
            {"name": "cover", "type": "file", "maxSize": 100000, "mimeTypes": ["image/png", "image/jpeg"],
             "thumbs": ["10x10", "0x5", "20x0f"]},
            {"name": "attachments", "type": "file", "maxSelect": 3, "maxSize": 1000},
            {"name": "secret", "type": "file", "protected": True},
        ]})  # fmt: skip
    assert created.status_code == 200, created.text
    world.ids["docs"] = created.json()["id"]
    return world


@pytest.fixture(scope="module")
def inbox() -> Iterator[MailCatcher]:
    """A real SMTP server (aiosmtpd) catching what the app sends."""
    with running_catcher() as caught:
        yield caught


def mail_world(
    tmp_path_factory: pytest.TempPathFactory, db_url: str, inbox: MailCatcher, name: str
) -> Iterator[World]:
    """``make_world`` on ``db_url`` with the app's mail going to ``inbox``."""
    for world in make_world(tmp_path_factory.mktemp(name) / "kb_data", db_url):
        settings = world.request("PATCH", "/api/settings", "superuser", json=inbox.smtp_settings())
        assert settings.status_code == 200, settings.text
        yield world
