"""Values one store keeps and the other cannot: never a 500 (runs on SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.api.scenario import World


def test_nul_characters_are_no_server_error(world: World) -> None:
    created = world.request("POST", "/api/collections", "superuser", json={
        "name": "nuls", "listRule": "", "viewRule": "", "createRule": "",
        "fields": [{"name": "title", "type": "text"}, {"name": "data", "type": "json"}]})  # fmt: skip
    assert created.status_code == 200, created.text
    record = world.client.post(
        "/api/collections/nuls/records",
        json={"title": "a\u0000b", "data": {"k": "x\u0000y", "path": "C:\\u0000"}},
    )
    assert record.status_code == 200, record.text
    read = world.client.get(f"/api/collections/nuls/records/{record.json()['id']}")
    assert read.status_code == 200, read.text
    assert read.json()["title"] in ("a\u0000b", "ab")  # PostgreSQL cannot store NUL
    assert read.json()["data"]["path"] == "C:\\u0000"  # an escaped backslash is no NUL
