"""Two ``keelbase serve --db postgresql://...`` nodes on one database, without Redis.

Each node has its own data folder (files), and both share the records, the
collections and the settings through PostgreSQL.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.pg import fresh_database

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ADMIN = ("admin@example.com", "Passw0rd123")


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with fresh_database() as url:
        subprocess.run(
            [sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN,
             "--dir", str(tmp_path / "a"), "--db", url],
            check=True, capture_output=True,
        )  # fmt: skip
        first = ServerProcess(tmp_path / "a", "--db", url)
        try:
            second = ServerProcess(tmp_path / "b", "--db", url)
        except BaseException:
            first.stop()
            raise
        try:
            yield first, second
        finally:
            first.stop()
            second.stop()


def token_of(url: str) -> str:
    response = httpx.post(
        url + "/api/collections/_superusers/auth-with-password",
        json={"identity": ADMIN[0], "password": ADMIN[1]},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def test_two_nodes_share_one_database(two_nodes: tuple[ServerProcess, ServerProcess]) -> None:
    first, second = two_nodes
    token_of(second.url)  # the superuser signs in on both nodes
    headers = {"Authorization": token_of(first.url)}

    created = httpx.post(
        first.url + "/api/collections",
        headers=headers,
        json={
            "name": "notes",
            "listRule": "",
            "viewRule": "",
            "createRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "code", "type": "text"},
                {"name": "size", "type": "number"},
            ],
            "indexes": ["CREATE UNIQUE INDEX idx_notes_code ON notes (code)"],
        },
    )
    assert created.status_code == 200, created.text

    # the collection made on the first node is there on the second without a restart
    deadline = time.monotonic() + 5
    while True:
        listed = httpx.get(second.url + "/api/collections/notes/records")
        if listed.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert listed.status_code == 200, listed.text

    # a write through one node is read through the other
    note = httpx.post(
        second.url + "/api/collections/notes/records",
        json={"title": "hello", "code": "a1", "size": 3},
    )
    assert note.status_code == 200, note.text
    seen = httpx.get(first.url + f"/api/collections/notes/records/{note.json()['id']}")
    assert seen.status_code == 200
    assert seen.json() == note.json()
    found = httpx.get(first.url + "/api/collections/notes/records", params={"filter": "size > 2"})
    assert [item["id"] for item in found.json()["items"]] == [note.json()["id"]]

    # the same unique value through both nodes at once: exactly one success
    for round_ in range(5):
        code = f"race{round_}"
        results: list[int] = []
        barrier = threading.Barrier(2)

        def create(
            url: str,
            code: str = code,
            barrier: threading.Barrier = barrier,
            results: list[int] = results,
        ) -> None:
            barrier.wait()
            response = httpx.post(
                url + "/api/collections/notes/records", json={"title": "x", "code": code}
            )
            results.append(response.status_code)

        threads = [threading.Thread(target=create, args=(u,)) for u in (first.url, second.url)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [200, 400], results
    total = httpx.get(
        second.url + "/api/collections/notes/records", params={"filter": "code ~ 'race'"}
    )
    assert total.json()["totalItems"] == 5

    # a field added on the second node is used at once on the first
    fields = [*created.json()["fields"], {"name": "extra", "type": "bool"}]
    updated = httpx.patch(
        second.url + "/api/collections/notes", headers=headers, json={"fields": fields}
    )
    assert updated.status_code == 200, updated.text
    deadline = time.monotonic() + 5
    attempt = 0
    while True:
        attempt += 1
        written = httpx.post(
            first.url + "/api/collections/notes/records",
            json={"title": "late", "code": f"late{attempt}", "extra": True},
        )
        if (written.status_code == 200 and written.json().get("extra") is True) or (
            time.monotonic() > deadline
        ):
            break
        time.sleep(0.2)
    assert written.status_code == 200, written.text
    assert written.json()["extra"] is True

    # settings saved through one node apply on the other without Redis
    saved = httpx.patch(
        first.url + "/api/settings", headers=headers, json={"meta": {"appName": "Shared"}}
    )
    assert saved.status_code == 200, saved.text
    deadline = time.monotonic() + 5
    while True:
        name = httpx.get(second.url + "/api/settings", headers=headers).json()["meta"]["appName"]
        if name == "Shared" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert name == "Shared"


def wait_for_collection(url: str, name: str, headers: dict[str, str]) -> None:
    """Until a node without Redis notices a collection made on the other (within a second)."""
    deadline = time.monotonic() + 5
    while httpx.get(f"{url}/api/collections/{name}", headers=headers).status_code != 200:
        assert time.monotonic() < deadline, f"{name} did not reach {url}"
        time.sleep(0.1)


def test_modifiers_through_two_nodes_lose_no_update(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    """40 PATCHes of one record at once, half through each node: each ``n+`` and
    ``tags+`` counts."""
    first, second = two_nodes
    clients = 40
    values = [f"t{i}" for i in range(clients)]
    headers = {"Authorization": token_of(first.url)}
    created = httpx.post(
        first.url + "/api/collections",
        headers=headers,
        json={
            "name": "counters",
            **{rule: "" for rule in ("listRule", "viewRule", "createRule", "updateRule")},
            "fields": [
                {"name": "n", "type": "number"},
                {"name": "tags", "type": "select", "values": values, "maxSelect": clients},
            ],
        },
    )
    assert created.status_code == 200, created.text
    wait_for_collection(second.url, "counters", headers)
    record = httpx.post(first.url + "/api/collections/counters/records", json={"n": 0}).json()
    path = f"/api/collections/counters/records/{record['id']}"

    async def patch_all() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(
                *(
                    client.patch(
                        (first, second)[i % 2].url + path, json={"n+": 1, "tags+": values[i]}
                    )
                    for i in range(clients)
                )
            )
        return [answer.status_code for answer in answers]

    assert asyncio.run(patch_all()) == [200] * clients
    final = httpx.get(second.url + path).json()
    assert final["n"] == clients
    assert sorted(final["tags"]) == sorted(values)


def test_changes_through_two_nodes_apply_to_what_the_other_saved(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    """A node's copy of the settings and collections lags the other node's changes by up
    to a second: a change right after one on the other node still keeps it."""
    first, second = two_nodes
    headers = {"Authorization": token_of(first.url)}
    created = httpx.post(first.url + "/api/collections", headers=headers, json={"name": "notes"})
    assert created.status_code == 200, created.text
    wait_for_collection(second.url, "notes", headers)
    changes: list[tuple[ServerProcess, str, dict[str, Any]]] = [
        (first, "/api/settings", {"meta": {"appName": "Shared"}}),
        (second, "/api/settings", {"smtp": {"host": "mail.example.com"}}),
        (first, "/api/collections/notes", {"listRule": "id != 'a'"}),
        (second, "/api/collections/notes", {"viewRule": "id != 'b'"}),
    ]
    for node, path, body in changes:
        answer = httpx.patch(node.url + path, headers=headers, json=body)
        assert answer.status_code == 200, answer.text
    expected = ("Shared", "mail.example.com", "id != 'a'", "id != 'b'")
    for node in (first, second):  # each node's copy catches up within a second or so
        deadline = time.monotonic() + 5
        while True:
            settings = httpx.get(node.url + "/api/settings", headers=headers).json()
            notes = httpx.get(node.url + "/api/collections/notes", headers=headers).json()
            seen = (
                settings["meta"]["appName"],
                settings["smtp"]["host"],
                notes["listRule"],
                notes["viewRule"],
            )
            if seen == expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert seen == expected, node.url
