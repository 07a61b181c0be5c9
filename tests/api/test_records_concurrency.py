"""Concurrent ``+``/``-`` updates of one record: none is lost, on either store.

Each case starts one app in-process, then sends ``CLIENTS`` PATCH requests
for the same record at once (asyncio tasks through ``httpx.ASGITransport``)
and checks the final value exactly. On PostgreSQL these requests really run
side by side (a pool of connections), so an update that read the record
without a row lock overwrote the others' changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from keelbase import App, RecordEvent
from tests.api.conftest import serving, superuser_headers

CLIENTS = 20
OPEN_RULES = {r: "" for r in ("listRule", "viewRule", "createRule", "updateRule", "deleteRule")}
VALUES = [f"v{i}" for i in range(CLIENTS)]


@dataclass
class World:
    """What a case's requests may refer to: the related records and the record itself."""

    client: httpx.AsyncClient
    targets: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)


Request = Callable[[int, World], dict[str, Any]]  # the i-th client's httpx keyword arguments


@dataclass
class Case:
    name: str
    value: str  # the field whose final value is checked
    initial: Callable[[World], dict[str, Any]]  # httpx keyword arguments creating the record
    request: Request
    expected: Callable[[World], Any]
    rule: str = ""  # the collection's updateRule
    answers: dict[int, int] = field(default_factory=lambda: {200: CLIENTS})

    def __str__(self) -> str:
        return self.name


def _upload(i: int) -> tuple[str, bytes, str]:
    return (f"note{i}.txt", f"note {i}".encode(), "text/plain")


CASES = [
    Case("number +", "n", lambda w: {"json": {"n": 0}},
         lambda i, w: {"json": {"n+": 1}}, lambda w: CLIENTS),
    Case("number -", "n", lambda w: {"json": {"n": 100}},
         lambda i, w: {"json": {"n-": 3}}, lambda w: 100 - 3 * CLIENTS),
    Case("number + and -", "n", lambda w: {"json": {"n": 0}},
         lambda i, w: {"json": {"n+": 5} if i % 2 else {"n-": 2}},
         lambda w: 5 * (CLIENTS // 2) - 2 * (CLIENTS // 2)),
    Case("relation +", "rel", lambda w: {"json": {}},
         lambda i, w: {"json": {"rel+": w.targets[i]}}, lambda w: sorted(w.targets)),
    Case("relation prefix +", "rel", lambda w: {"json": {}},
         lambda i, w: {"json": {"+rel": w.targets[i]}}, lambda w: sorted(w.targets)),
    Case("relation -", "rel", lambda w: {"json": {"rel": w.targets}},
         lambda i, w: {"json": {"rel-": w.targets[i]}}, lambda w: []),
    Case("select +", "tags", lambda w: {"json": {}},
         lambda i, w: {"json": {"tags+": VALUES[i]}}, lambda w: sorted(VALUES)),
    Case("select -", "tags", lambda w: {"json": {"tags": VALUES}},
         lambda i, w: {"json": {"tags-": VALUES[i]}}, lambda w: []),
    Case("file +", "docs", lambda w: {"json": {}},
         lambda i, w: {"files": {"docs+": _upload(i)}}, lambda w: CLIENTS),
    Case("file -", "docs",
         lambda w: {"files": [("docs", _upload(i)) for i in range(CLIENTS)]},
         lambda i, w: {"json": {"docs-": w.record["docs"][i]}}, lambda w: 0),
    # The update rule is checked on the record as the previous update left it.
    Case("number + under a rule on the number", "n", lambda w: {"json": {"n": 0}},
         lambda i, w: {"json": {"n+": 1}}, lambda w: 5, rule="n < 5",
         answers={200: 5, 404: CLIENTS - 5}),
]  # fmt: skip


def _collection(rule: str, targets_id: str) -> dict[str, Any]:
    return {
        "name": "counters",
        **OPEN_RULES,
        "updateRule": rule,
        "fields": [
            {"name": "n", "type": "number"},
            {"name": "rel", "type": "relation", "collectionId": targets_id, "maxSelect": CLIENTS},
            {"name": "tags", "type": "select", "values": VALUES, "maxSelect": CLIENTS},
            {"name": "docs", "type": "file", "maxSelect": CLIENTS, "maxSize": 1000},
        ],
    }


async def _with_app(
    data_dir: Path, db_url: str, body: Callable[[App, World], Awaitable[None]]
) -> None:
    async with serving(data_dir, db_url) as (app, client):
        await body(app, World(client))


def _final(case: Case, record: dict[str, Any]) -> Any:
    value = record[case.value]
    if case.value == "docs":
        return len(value)
    if isinstance(value, list):
        return sorted(value)
    return value


@pytest.mark.parametrize("case", CASES, ids=str)
def test_concurrent_modifiers_lose_no_update(case: Case, tmp_path: Path, fresh_db_url: str) -> None:
    async def run(app: App, world: World) -> None:
        client = world.client
        targets = await app.collections.create({"name": "targets", **OPEN_RULES})
        await app.collections.create(_collection(case.rule, targets.id))
        for _ in range(CLIENTS):
            target = await client.post("/api/collections/targets/records", json={})
            assert target.status_code == 200, target.text
            world.targets.append(target.json()["id"])
        made = await client.post("/api/collections/counters/records", **case.initial(world))
        assert made.status_code == 200, made.text
        world.record = made.json()
        url = f"/api/collections/counters/records/{world.record['id']}"

        answers = await asyncio.gather(
            *(client.patch(url, **case.request(i, world)) for i in range(CLIENTS))
        )
        statuses: dict[int, int] = {}
        for answer in answers:
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        assert statuses == case.answers, [a.text for a in answers if a.status_code >= 500]

        final = (await client.get(url)).json()
        assert _final(case, final) == case.expected(world)
        if case.value == "docs":
            # Every name points at a stored file and no stored file is left unnamed.
            folder = tmp_path / "kb_data" / "storage" / final["collectionId"] / final["id"]
            stored = (
                sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []
            )
            assert stored == sorted(final["docs"])

    asyncio.run(_with_app(tmp_path / "kb_data", fresh_db_url, run))


def test_deleting_a_related_record_keeps_concurrent_additions(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """Deleting a record rewrites the relation lists that name it: additions made
    meanwhile by other requests stay in them."""

    async def run(app: App, world: World) -> None:
        client = world.client
        targets = await app.collections.create({"name": "targets", **OPEN_RULES})
        await app.collections.create(_collection("", targets.id))
        for _ in range(CLIENTS):
            target = await client.post("/api/collections/targets/records", json={})
            world.targets.append(target.json()["id"])
        gone, *added = world.targets
        made = await client.post("/api/collections/counters/records", json={"rel": [gone]})
        url = f"/api/collections/counters/records/{made.json()['id']}"

        answers = await asyncio.gather(
            client.delete(f"/api/collections/targets/records/{gone}"),
            *(client.patch(url, json={"rel+": target}) for target in added),
        )
        assert [a.status_code for a in answers] == [204] + [200] * len(added)
        assert sorted((await client.get(url)).json()["rel"]) == sorted(added)

    asyncio.run(_with_app(tmp_path / "kb_data", fresh_db_url, run))


def test_concurrent_deletes_of_one_record_delete_it_once(tmp_path: Path, fresh_db_url: str) -> None:
    """One delete succeeds; the others find nothing (404), as they would a moment later,
    and the delete hooks run once."""

    async def run(app: App, world: World) -> None:
        client = world.client
        await app.collections.create({"name": "targets", **OPEN_RULES})
        deleted: list[str] = []

        @app.on_record_delete("targets")
        async def count(e: RecordEvent) -> None:
            await e.next()
            deleted.append(e.record.id)

        target = (await client.post("/api/collections/targets/records", json={})).json()
        url = f"/api/collections/targets/records/{target['id']}"
        answers = await asyncio.gather(*(client.delete(url) for _ in range(CLIENTS)))
        assert sorted(a.status_code for a in answers) == [204] + [404] * (CLIENTS - 1)
        assert deleted == [target["id"]]

    asyncio.run(_with_app(tmp_path / "kb_data", fresh_db_url, run))


def test_concurrent_batch_upserts_of_one_new_id_create_it_once(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """``PUT`` in a batch creates the record or updates it: clients upserting one new id at
    once get one create and updates, never a clash on the id."""

    async def run(app: App, world: World) -> None:
        client = world.client
        headers = await superuser_headers(app, client)
        settings = await client.patch(
            "/api/settings", json={"batch": {"enabled": True, "maxRequests": 50}}, headers=headers
        )
        assert settings.status_code == 200, settings.text
        await app.collections.create(
            {"name": "notes", **OPEN_RULES, "fields": [{"name": "n", "type": "number"}]}
        )

        def upsert(i: int) -> dict[str, Any]:
            put = {"method": "PUT", "url": "/api/collections/notes/records"}
            return {"requests": [{**put, "body": {"id": "upsertedrecord1", "n": i}}]}

        answers = await asyncio.gather(
            *(client.post("/api/batch", json=upsert(i)) for i in range(CLIENTS))
        )
        failed = [a.text for a in answers if a.status_code != 200]
        assert not failed, failed[:2]
        listed = (await client.get("/api/collections/notes/records")).json()
        assert listed["totalItems"] == 1

    asyncio.run(_with_app(tmp_path / "kb_data", fresh_db_url, run))


def test_a_record_created_while_its_relation_target_is_deleted_never_points_at_nothing(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """A create that checked its relation target exists holds it until the commit: a delete
    of the target at the same moment waits, then removes the new reference as it would any."""

    async def run(app: App, world: World) -> None:
        client = world.client
        await app.collections.create({"name": "targets", **OPEN_RULES})
        targets = app.collections.get("targets")
        await app.collections.create(
            {
                "name": "refs",
                **OPEN_RULES,
                "fields": [{"name": "rel", "type": "relation", "collectionId": targets.id}],
            }
        )
        checked = asyncio.Event()

        @app.on_record_create("refs")
        async def slow(e: RecordEvent) -> None:
            await e.next()  # the target was checked and the record written; not committed yet
            checked.set()
            await asyncio.sleep(0.05)

        async def delete_once_checked(target_id: str) -> None:
            await checked.wait()
            await client.delete(f"/api/collections/targets/records/{target_id}")

        for _ in range(5):
            checked.clear()
            target = (await client.post("/api/collections/targets/records", json={})).json()
            await asyncio.gather(
                client.post("/api/collections/refs/records", json={"rel": target["id"]}),
                delete_once_checked(target["id"]),
            )
        refs = (await client.get("/api/collections/refs/records?perPage=500")).json()["items"]
        left = {r["rel"] for r in refs if r["rel"]}
        assert not left, f"{len(left)} records point at deleted targets"

    asyncio.run(_with_app(tmp_path / "kb_data", fresh_db_url, run))
