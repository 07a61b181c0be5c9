"""Worlds for the API tests: one template per store and table, a fresh world per test.

``base`` (a superuser and two users, signed in) is made once per store for the
session. A module's ``template`` is the base unless the module overrides it
with ``base.extend(...)``; ``world`` starts a copy of it for each test, except
that scenarios which only read share one (``tests/api/worlds.py``).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image

from keelbase import App, Config
from tests.api.scenario import World
from tests.api.worlds import ADMIN, PASSWORD, Template, base_template
from tests.mail_catcher import MailCatcher, running_catcher
from tests.pg import STORES, fresh_database

__all__ = ["ADMIN", "PASSWORD"]


@pytest.fixture(scope="session", params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    """Every API test runs on SQLite and on PostgreSQL.

    Tests marked ``xfail_postgres(reason)`` are expected to fail on PostgreSQL only.
    """
    return str(request.param)


@pytest.fixture(scope="session")
def base(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    data_dir = tmp_path_factory.mktemp(f"base-{store}") / "kb_data"
    if store == "sqlite":
        with base_template(data_dir) as template:
            yield template
        return
    with fresh_database() as url, base_template(data_dir, url) as template:
        yield template


@pytest.fixture(scope="module")
def template(base: Template) -> Template:
    """The module's template; modules with a setup of their own override this."""
    return base


def world_of(template: Template, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The test's world from ``template``: a copy of its own, unless its scenario only reads."""
    callspec = getattr(request.node, "callspec", None)
    scenario = callspec.params.get("scenario") if callspec is not None else None
    with template.world_for(scenario, tmp_path / "kb_data") as started:
        yield started


@pytest.fixture
def world(template: Template, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """A running world for the test, from the module's template (see ``world_of``)."""
    yield from world_of(template, request, tmp_path)


@pytest.fixture
def app(tmp_path: Path, fresh_db_url: str) -> App:
    return App(Config(data_dir=tmp_path / "kb_data", db_url=fresh_db_url))


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
        if "postgres" not in (callspec.params.get("store"), callspec.params.get("fresh_db_url")):
            continue
        reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
        item.add_marker(pytest.mark.xfail(reason=f"PostgreSQL: {reason}", strict=True))


def png(width: int = 40, height: int = 20, color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def create_docs(world: World) -> None:
    """A collection with every kind of file field, for the file tests."""
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


@pytest.fixture(scope="module")
def files_template(base: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    with base.extend(tmp_path_factory.mktemp("files") / "kb_data", create_docs) as template:
        yield template


@pytest.fixture
def files_world(
    files_template: Template, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[World]:
    yield from world_of(files_template, request, tmp_path)


@pytest.fixture(scope="module")
def inbox() -> Iterator[MailCatcher]:
    """A real SMTP server (aiosmtpd) catching what the app sends."""
    with running_catcher() as caught:
        yield caught


def use_inbox(inbox: MailCatcher) -> Callable[[World], None]:
    """A setup step: the app's mail goes to ``inbox``."""

    def step(world: World) -> None:
        settings = world.request("PATCH", "/api/settings", "superuser", json=inbox.smtp_settings())
        assert settings.status_code == 200, settings.text

    return step
