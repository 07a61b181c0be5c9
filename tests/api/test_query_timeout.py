"""``--queryTimeout``: a query past the limit is stopped, answered 400, and frees its connection."""

from __future__ import annotations

import time
from pathlib import Path

from starlette.testclient import TestClient

from keelbase import App, Config
from tests.api.conftest import ADMIN

# Valid on SQLite and PostgreSQL. Empty while ``notes`` is (so validating it when it is
# created is quick: an endless view query is refused then); with one note, counting its
# rows takes far longer than a second.
ENDLESS = (
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
    "WHERE x < (SELECT COUNT(*) FROM notes) * 1000000000) "
    "SELECT CAST(x AS TEXT) AS id FROM n"
)


def test_a_query_past_the_limit_is_a_400_and_the_store_goes_on(tmp_path: Path, db_url: str) -> None:
    app = App(Config(data_dir=tmp_path / "kb_data", db_url=db_url, query_timeout=1))
    with TestClient(app.asgi) as client:
        client.portal.call(app.superusers.upsert, *ADMIN)  # type: ignore[union-attr]
        token = client.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": ADMIN[0], "password": ADMIN[1]},
        ).json()["token"]
        headers = {"Authorization": token}
        for body in (
            {
                "name": "notes",
                "createRule": "",
                "listRule": "",
                "fields": [{"name": "t", "type": "text"}],
            },
            {"name": "endless", "type": "view", "listRule": "", "viewQuery": ENDLESS},
        ):
            created = client.post("/api/collections", json=body, headers=headers)
            assert created.status_code == 200, created.text
        first = client.post("/api/collections/notes/records", json={"t": "before"})
        assert first.status_code == 200, first.text
        started = time.monotonic()
        listed = client.get("/api/collections/endless/records?perPage=1")
        assert listed.status_code == 400, listed.text
        assert listed.json() == {
            "status": 400,
            "message": "Something went wrong while processing your request.",
            "data": {},
        }
        assert time.monotonic() - started < 10
        # the connections are free again: reads and writes go on at once
        started = time.monotonic()
        note = client.post("/api/collections/notes/records", json={"t": "after"})
        assert note.status_code == 200, note.text
        assert client.get("/api/collections/notes/records").json()["totalItems"] == 2
        assert time.monotonic() - started < 2
