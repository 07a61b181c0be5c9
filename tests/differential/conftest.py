"""Fixtures: the reference PocketBase and Keelbase, side by side, each with a superuser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.differential.runner import Side
from tests.differential.servers import (
    SUPERUSER_EMAIL,
    SUPERUSER_PASSWORD,
    ChildServer,
    start_keelbase,
    start_pocketbase,
)
from tests.pg import fresh_database


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[str]:
    """Keelbase's database for the whole scenario: "" (SQLite) or a fresh PostgreSQL URL."""
    if request.param == "sqlite":
        yield ""
        return
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, store: str
) -> Iterator[tuple[ChildServer, ChildServer]]:
    """Both servers from fresh data folders; module scope because the scenario is one story."""
    root = tmp_path_factory.mktemp("differential")
    pocketbase = start_pocketbase(root)
    try:
        keelbase = start_keelbase(root, store)
    except BaseException:
        pocketbase.stop()
        raise
    yield pocketbase, keelbase
    keelbase.stop()
    pocketbase.stop()


@pytest.fixture(scope="module")
def sides(servers: tuple[ChildServer, ChildServer]) -> Iterator[tuple[Side, Side]]:
    """A ``Side`` per server, already holding a superuser token (``as: superuser``).

    The login happens here rather than in the scenario so that the scenario's
    own auth steps can fail (and be compared) without breaking every later step.
    """
    result: list[Side] = []
    for server in servers:
        client = server.client()
        response = client.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
        )
        assert response.status_code == 200, f"{server.label}: {response.text}"
        side = Side(server.label, client)
        side.values["superuser_token"] = response.json()["token"]
        side.values["superuser_id"] = response.json()["record"]["id"]
        result.append(side)
    yield result[0], result[1]
    for side in result:
        side.client.close()
