"""Sync's change feed, checkpoint and ``If-Match`` writes, on both stores.

The PostgreSQL case at the end holds one writing transaction open while a
later one commits: the feed must not move its cursor past the open one, or
that change would be skipped once it commits.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from keelbase import App, Config
from keelbase.core.request_info import SYSTEM, RequestInfo
from tests.api.conftest import serving, superuser_headers

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


RULES = {
    "listRule": "public = true",
    "viewRule": "",
    "createRule": "",
    "updateRule": "",
    "deleteRule": "",
}
NOTES = {
    "name": "notes",
    **RULES,
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "public", "type": "bool"},
        {"name": "created", "type": "autodate", "onCreate": True},
        {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
    ],
}


async def pull_all(
    client: httpx.AsyncClient, cursor: str = "", limit: int = 100, **extra: str
) -> tuple[dict[str, dict[str, Any]], list[str], str]:
    puts: dict[str, dict[str, Any]] = {}
    removes: list[str] = []
    while True:
        answer = await client.get(
            "/api/sync/notes/changes", params={"cursor": cursor, "limit": str(limit), **extra}
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        for item in page["put"]:
            puts[item["id"]] = item
        removes.extend(page["remove"])
        cursor = page["cursor"]
        if page["held"]:
            # A committed change waits for an older transaction elsewhere to end.
            await asyncio.sleep(0.05)
            continue
        if not page["hasMore"]:
            return puts, removes, cursor


def digest(record_id: str) -> str:
    """How the feed names a record to remove: the SHA-256 of its id."""
    return hashlib.sha256(record_id.encode()).hexdigest()


def checksum(records: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    for record in sorted(records, key=lambda r: r["id"]):
        digest.update(f"{record['id']}\t{record['updated']}\n".encode())
    return digest.hexdigest()


async def enable_batch(app: App, client: httpx.AsyncClient) -> None:
    """Batches on, by the superuser."""
    admin = await superuser_headers(app, client)
    enabled = await client.patch("/api/settings", json={"batch": {"enabled": True}}, headers=admin)
    assert enabled.status_code == 200, enabled.text


async def make(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    made = await client.post("/api/collections/notes/records", json=body)
    assert made.status_code == 200, made.text
    return dict(made.json())


async def test_feed_puts_visible_records_and_removes_the_rest(tmp_path: Path, db_url: str) -> None:
    async with serving(tmp_path / "kb_data", db_url) as (app, client):
        await app.collections.create(NOTES)
        a = await make(client, title="a", public=True)
        b = await make(client, title="b", public=True)
        c = await make(client, title="c", public=False)
        # A snapshot first, one record a page, under the list rule.
        puts, removes, cursor = await pull_all(client, limit=1)
        assert sorted(puts) == sorted([a["id"], b["id"]])
        # Changes still settling when the snapshot started come again: c as a remove.
        assert set(removes) <= {digest(c["id"])}
        assert cursor.startswith("c.")
        # Nothing new: an empty page that keeps the cursor.
        again = (await client.get("/api/sync/notes/changes", params={"cursor": cursor})).json()
        assert again == {"put": [], "remove": [], "cursor": cursor, "hasMore": False, "held": False}

        d = await make(client, title="d", public=True, id="clientchosen123")
        assert d["id"] == "clientchosen123"
        hidden = await client.patch(
            f"/api/collections/notes/records/{a['id']}", json={"public": False}
        )
        assert hidden.status_code == 200
        assert (await client.delete(f"/api/collections/notes/records/{b['id']}")).status_code == 204
        await client.patch(f"/api/collections/notes/records/{c['id']}", json={"title": "c2"})
        puts, removes, cursor = await pull_all(client, cursor, limit=2)
        assert list(puts) == [d["id"]]
        assert puts[d["id"]]["title"] == "d"
        assert set(removes) == {digest(a["id"]), digest(b["id"]), digest(c["id"])}

        # A retried create with the same client-chosen id makes no second record.
        again_made = await client.post(
            "/api/collections/notes/records", json={"id": d["id"], "title": "d"}
        )
        assert again_made.status_code == 400
        assert again_made.json()["data"]["id"]["code"] == "validation_not_unique"

        point = (await client.get("/api/sync/notes/checkpoint")).json()
        assert point["count"] == 1 and point["checksum"] == checksum([puts[d["id"]]])
        # fields and filter act as on the list API.
        picked, _, _ = await pull_all(client, fields="id,title")
        assert picked == {d["id"]: {"id": d["id"], "title": "d"}}
        filtered, _, _ = await pull_all(client, filter="title = 'zzz'")
        assert filtered == {}
        # A superuser sees every record.
        headers = await superuser_headers(app, client)
        client.headers.update(headers)
        everything, _, _ = await pull_all(client)
        assert sorted(everything) == sorted([a["id"], c["id"], d["id"]])


async def test_feed_bad_input(tmp_path: Path, db_url: str) -> None:
    async with serving(tmp_path / "kb_data", db_url) as (app, client):
        await app.collections.create({**NOTES, "listRule": None})
        await app.collections.create(
            {"name": "vnotes", "type": "view", "listRule": "", "viewQuery": "SELECT id FROM notes"}
        )
        answer = await client.get("/api/sync/notes/changes")
        assert answer.status_code == 403 and set(answer.json()) == {"status", "message", "data"}
        client.headers.update(await superuser_headers(app, client))
        for params in (
            {"cursor": "nope"},
            {"cursor": "c.1"},
            {"cursor": "c.x.1"},
            {"cursor": "c.99999999999999999999.1"},
            {"cursor": "s.-1.2.x"},
            {"limit": "-3"},
            {"limit": "x"},
            {"limit": "\u00b2"},  # a digit to str.isdigit, not to int()
        ):
            answer = await client.get("/api/sync/notes/changes", params=params)
            assert answer.status_code == 400, (params, answer.text)
        # more digits than int() reads: the most a page holds
        huge = await client.get("/api/sync/notes/changes", params={"limit": "1" * 5000})
        assert huge.status_code == 200, huge.text
        assert (await client.get("/api/sync/missing/changes")).status_code == 404
        assert (await client.get("/api/sync/vnotes/changes")).status_code == 400
        assert (await client.get("/api/sync/vnotes/checkpoint")).status_code == 400


async def test_cursor_older_than_the_window_is_gone(tmp_path: Path, db_url: str) -> None:
    async with App(Config(data_dir=tmp_path / "kb_data", db_url=db_url, sync_window=0.001)) as app:
        transport = httpx.ASGITransport(app=app.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://kb") as client:
            await app.collections.create(NOTES)
            _, _, start = await pull_all(client)
            await make(client, title="a", public=True)
            _, _, recent = await pull_all(client, start)
            await make(client, title="b", public=True)
            await asyncio.sleep(0.01)
            assert await app.sync.prune() == 2
            gone = await client.get("/api/sync/notes/changes", params={"cursor": start})
            assert gone.status_code == 410
            assert set(gone.json()) == {"status", "message", "data"}
            assert (
                await client.get("/api/sync/notes/changes", params={"cursor": recent})
            ).status_code == 410
            # Starting again works, and continues from where the pruned log ended.
            puts, _, cursor = await pull_all(client)
            assert len(puts) == 2
            c = await make(client, title="c", public=True)
            puts, _, cursor = await pull_all(client, cursor)
            assert list(puts) == [c["id"]]
            # A new list rule changes what every client should hold: start again.
            await app.collections.update("notes", {"listRule": ""})
            answer = await client.get("/api/sync/notes/changes", params={"cursor": cursor})
            assert answer.status_code == 410
            # A truncate too.
            _, _, cursor = await pull_all(client)
            await app.records.truncate(app.records.collection("notes"))
            answer = await client.get("/api/sync/notes/changes", params={"cursor": cursor})
            assert answer.status_code == 410


async def test_if_match_turns_a_lost_update_into_409(tmp_path: Path, db_url: str) -> None:
    async with serving(tmp_path / "kb_data", db_url) as (app, client):
        await app.collections.create(NOTES)
        note = await make(client, title="a", public=True)
        url = f"/api/collections/notes/records/{note['id']}"
        first = await client.patch(url, json={"title": "b"}, headers={"If-Match": note["updated"]})
        assert first.status_code == 200, first.text
        stale = await client.patch(url, json={"title": "c"}, headers={"If-Match": note["updated"]})
        assert stale.status_code == 409
        assert stale.json()["data"]["record"]["title"] == "b"
        assert stale.json()["data"]["record"]["updated"] == first.json()["updated"]
        await enable_batch(app, client)
        stale_item = {"method": "PATCH", "url": url, "body": {"title": "d"}}
        batch = await client.post(
            "/api/batch",
            json={"requests": [{**stale_item, "headers": {"If-Match": note["updated"]}}]},
        )
        assert batch.status_code == 400, batch.text
        failed = batch.json()["data"]["requests"]["0"]["response"]
        assert failed["status"] == 409 and failed["data"]["record"]["title"] == "b"
        # Concurrent writers expecting one version: exactly one wins.
        version = first.json()["updated"]
        answers = await asyncio.gather(
            *(
                client.patch(url, json={"title": f"w{i}"}, headers={"If-Match": version})
                for i in range(6)
            )
        )
        assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409, 409]
        assert (await client.patch(url, json={"title": "x"})).status_code == 200
        assert (
            await client.patch(url, json={"title": "y"}, headers={"If-Match": "*"})
        ).status_code == 200


async def test_if_match_on_a_delete_keeps_a_record_changed_since(
    tmp_path: Path, db_url: str
) -> None:
    """A delete made on an old version must not remove what someone changed since."""
    async with serving(tmp_path / "kb_data", db_url) as (app, client):
        await app.collections.create(NOTES)
        note = await make(client, title="a", public=True)
        url = f"/api/collections/notes/records/{note['id']}"
        changed = await client.patch(url, json={"title": "b"})
        assert changed.status_code == 200
        stale = await client.delete(url, headers={"If-Match": note["updated"]})
        assert stale.status_code == 409, stale.text
        assert stale.json()["data"]["record"]["title"] == "b"
        assert (await client.get(url)).status_code == 200  # still there
        await enable_batch(app, client)
        batch = await client.post("/api/batch", json={"requests": [
            {"method": "DELETE", "url": url, "headers": {"If-Match": note["updated"]}}]})  # fmt: skip
        assert batch.status_code == 400, batch.text
        assert batch.json()["data"]["requests"]["0"]["response"]["status"] == 409
        assert (await client.get(url)).status_code == 200
        # Concurrent deletes expecting the current version: one removes it, the rest find nothing.
        current = changed.json()["updated"]
        answers = await asyncio.gather(
            *(client.delete(url, headers={"If-Match": current}) for _ in range(4))
        )
        assert sorted(a.status_code for a in answers) == [204, 404, 404, 404]
        other = await make(client, title="c", public=True)
        other_url = f"/api/collections/notes/records/{other['id']}"
        assert (await client.patch(other_url, json={"title": "d"})).status_code == 200
        assert (await client.delete(other_url, headers={"If-Match": "*"})).status_code == 204


async def test_a_slower_transaction_committing_a_lower_sequence_is_not_skipped(
    tmp_path: Path, db_url: str
) -> None:
    if not db_url:
        pytest.skip("SQLite commits one writer at a time: sequence order is commit order")
    async with serving(tmp_path / "kb_data", db_url) as (app, client):
        await app.collections.create(NOTES)
        notes = app.records.collection("notes")
        _, _, cursor = await pull_all(client)
        written, release = asyncio.Event(), asyncio.Event()

        async def slow_writer() -> None:
            async with app.records.transaction():
                await app.records.create_record(
                    notes, {"id": "slowslowslow123", "public": True}, SYSTEM
                )
                written.set()
                await release.wait()

        slow = asyncio.create_task(slow_writer())
        await written.wait()
        fast = await make(client, id="fastfastfast123", title="fast", public=True)
        # The fast change (higher sequence) is committed, the slow one (lower) is not yet.
        page = (await client.get("/api/sync/notes/changes", params={"cursor": cursor})).json()
        assert page["put"] == [] and page["held"] is True and page["cursor"] == cursor
        release.set()
        await slow
        puts, _, _ = await pull_all(client, cursor)
        assert sorted(puts) == ["fastfastfast123", "slowslowslow123"]
        assert fast["id"] in puts


def test_sync_window_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from keelbase.cli import _config_of, build_parser

    args = build_parser().parse_args(["--syncWindow", "60", "serve"])
    assert _config_of(args).sync_window == 60
    assert _config_of(build_parser().parse_args(["serve"])).sync_window == 7 * 24 * 3600
    for bad in ("0", "-5", "soon"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--syncWindow", bad, "serve"])
        assert "positive number of seconds" in capsys.readouterr().err


async def test_a_transaction_in_another_database_does_not_hold_the_feed(
    tmp_path: Path, db_url: str
) -> None:
    if not db_url:
        pytest.skip("PostgreSQL only: a cluster holds several databases")
    import asyncpg

    elsewhere = await asyncpg.connect(db_url.rsplit("/", 1)[0] + "/postgres")
    try:
        async with serving(tmp_path / "kb_data", db_url) as (app, client):
            await app.collections.create(NOTES)
            _, _, cursor = await pull_all(client)
            transaction = elsewhere.transaction()
            await transaction.start()
            await elsewhere.fetchval("SELECT pg_current_xact_id()")  # an xid, left running
            made = await make(client, title="now", public=True)
            page = (await client.get("/api/sync/notes/changes", params={"cursor": cursor})).json()
            assert [item["id"] for item in page["put"]] == [made["id"]]
            await transaction.rollback()
    finally:
        await elsewhere.close()


async def test_a_retried_batch_with_client_chosen_ids_makes_no_second_record(
    tmp_path: Path, db_url: str
) -> None:
    async with serving(tmp_path / "kb_data", db_url) as (app, client):
        await app.collections.create(NOTES)
        await enable_batch(app, client)
        batch = {
            "requests": [
                {
                    "method": "POST",
                    "url": "/api/collections/notes/records",
                    "body": {"id": f"batchretry{i:05d}", "title": f"n{i}", "public": True},
                }
                for i in range(3)
            ]
        }
        first = await client.post("/api/batch", json=batch)
        assert first.status_code == 200, first.text
        # The answer was lost; the app sends the same batch again: refused whole, nothing doubled.
        again = await client.post("/api/batch", json=batch)
        assert again.status_code == 400, again.text
        failed = again.json()["data"]["requests"]["0"]["response"]
        assert failed["data"]["id"]["code"] == "validation_not_unique"
        listed = await client.get("/api/collections/notes/records", params={"perPage": 50})
        assert sorted(item["id"] for item in listed.json()["items"]) == [
            f"batchretry{i:05d}" for i in range(3)
        ]
        puts, _, _ = await pull_all(client)
        assert len(puts) == 3


def plan_text(rows: list[Any]) -> str:
    return "\n".join(str(value) for row in rows for value in dict(row).values())


async def test_a_pull_reads_indexes_not_the_collection(tmp_path: Path, db_url: str) -> None:
    """The log page and the records it names are read through indexes on both stores."""
    async with serving(tmp_path / "kb_data", db_url) as (app, client):
        await app.collections.create(NOTES)
        notes = app.records.collection("notes")
        async with app.records.transaction():
            for i in range(1500):
                await app.records.create_record(notes, {"title": f"n{i}", "public": True}, SYSTEM)
        _, _, cursor = await pull_all(client)
        ids = [f"plan{i:011d}" for i in range(10)]
        for record_id in ids:
            await make(client, id=record_id, title="new", public=True)
        page = (await client.get("/api/sync/notes/changes", params={"cursor": cursor})).json()
        assert sorted(item["id"] for item in page["put"]) == ids
        tx, seq = (int(n) for n in cursor.split(".")[1:3])
        log_params = {"collection": notes.id, "tx": tx, "seq": seq, "limit": 101}
        records_sql, records_params = app.sync.records_sql(notes, RequestInfo(), "", ids)
        postgres = bool(db_url)
        async with app.store.transaction() as conn:
            if postgres:
                # Small tables: make any sequential scan the planner's last resort, so a
                # plan that still has one has no index to use.
                await conn.execute("SET LOCAL enable_seqscan = off")
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            log_plan = plan_text(
                await conn.fetch_all(explain + app.sync.log.read_sql(), log_params)
            )
            records_plan = plan_text(await conn.fetch_all(explain + records_sql, records_params))
        if postgres:
            assert "Seq Scan" not in log_plan, log_plan
            assert "_kbChanges_position" in log_plan, log_plan
            assert "Seq Scan" not in records_plan, records_plan
        else:
            assert "SCAN _kbChanges" not in log_plan, log_plan
            assert log_plan.count("USING INDEX _kbChanges_position") == 2, log_plan
            assert "SCAN notes" not in records_plan, records_plan
            assert "USING INDEX" in records_plan, records_plan


async def test_each_update_is_a_new_version_even_within_a_millisecond(
    tmp_path: Path, db_url: str
) -> None:
    """``updated`` is the version ``If-Match`` compares: two writes in one millisecond must
    not share it, or a client holding the earlier one overwrites the later write."""
    async with serving(tmp_path / "kb_data", db_url) as (app, client):
        await app.collections.create(NOTES)
        await enable_batch(app, client)
        note = await make(client, title="a", public=True)
        url = f"/api/collections/notes/records/{note['id']}"
        # A batch's writes follow each other within well under a millisecond.
        steps = [{"method": "PATCH", "url": url, "body": {"title": f"t{i}"}} for i in range(20)]
        done = await client.post("/api/batch", json={"requests": steps})
        assert done.status_code == 200, done.text
        versions = [note["updated"], *(item["body"]["updated"] for item in done.json())]
        assert versions == sorted(set(versions)), versions
        # A client holding any earlier version gets its 409.
        for held in versions[:-1]:
            stale = await client.patch(url, json={"title": "lost"}, headers={"If-Match": held})
            assert stale.status_code == 409, (held, versions)


async def test_removes_never_name_a_record_the_caller_could_not_list(
    tmp_path: Path, db_url: str
) -> None:
    """NOTES lists public notes only but shows any note by id (an "unlisted" note): the
    feed's removes must not hand out the ids of unlisted notes, or anyone could read them."""
    async with serving(tmp_path / "kb_data", db_url) as (app, client):
        await app.collections.create(NOTES)
        secret = await make(client, title="unlisted", public=False)
        shown = await client.get(f"/api/collections/notes/records/{secret['id']}")
        assert shown.status_code == 200  # whoever has the id reads it
        made = await make(client, title="listed, then unlisted", public=True)
        _, _, cursor = await pull_all(client)
        await client.patch(f"/api/collections/notes/records/{made['id']}", json={"public": False})
        await client.patch(f"/api/collections/notes/records/{secret['id']}", json={"title": "x"})
        for start in ("c.0.0", cursor):
            page = await client.get("/api/sync/notes/changes", params={"cursor": start})
            assert page.status_code == 200
            assert secret["id"] not in page.text and made["id"] not in page.text, page.text
            # What a client holding them needs: the digest of each id, to drop its copy.
            assert {digest(secret["id"]), digest(made["id"])} <= set(page.json()["remove"])


async def test_checkpoint_under_a_rule_through_a_relation_counts_each_record_once(
    tmp_path: Path, db_url: str
) -> None:
    """The checkpoint reads ids and versions only; a rule joining a multi-relation
    (one row per matching tag) must still count a record once."""
    async with serving(tmp_path / "kb_data", db_url) as (app, client):
        tags = await app.collections.create(
            {
                "name": "tags",
                "listRule": "",
                "viewRule": "",
                "createRule": "",
                "fields": [{"name": "name", "type": "text"}],
            }
        )
        await app.collections.create(
            {
                **NOTES,
                "listRule": "tags.name ?= 'open'",
                "fields": [
                    *NOTES["fields"],
                    {"name": "tags", "type": "relation", "collectionId": tags.id, "maxSelect": 5},
                ],
            }
        )
        made_tags = {}
        for name in ("open", "open", "closed"):
            tag = await client.post("/api/collections/tags/records", json={"name": name})
            assert tag.status_code == 200, tag.text
            made_tags.setdefault(name, []).append(tag.json()["id"])
        twice_open = await make(client, title="a", tags=made_tags["open"])
        await make(client, title="b", tags=made_tags["closed"])
        point = (await client.get("/api/sync/notes/checkpoint")).json()
        assert point["count"] == 1 and point["checksum"] == checksum([twice_open])
        narrowed = await client.get("/api/sync/notes/checkpoint", params={"filter": "title = 'b'"})
        assert narrowed.json()["count"] == 0
