"""Vector fields and nearest-neighbour search on both stores, under the list rule."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from keelbase.core.request_info import RequestInfo
from tests.api.conftest import serving, superuser_headers
from tests.conftest import ServerProcess

DOCS = {
    "name": "docs",
    "type": "base",
    "listRule": "public = true",
    "viewRule": "public = true",
    "createRule": None,
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "public", "type": "bool"},
        {"name": "embedding", "type": "vector", "dimensions": 4},
    ],
}


def _expected(
    vectors: dict[str, list[float]], query: list[float], metric: str, k: int
) -> list[str]:
    """Brute force in float64: the ids in order of distance."""
    q = np.asarray(query, dtype=np.float64)

    def distance(v: list[float]) -> float:
        a = np.asarray(v, dtype=np.float64)
        if metric == "l2":
            return float(np.linalg.norm(a - q))
        norm = np.linalg.norm(a)
        return 1.0 if norm == 0 else float(1 - a @ q / (norm * np.linalg.norm(q)))

    return sorted(vectors, key=lambda i: (distance(vectors[i]), i))[:k]


def test_vector_fields_and_nearest_search(tmp_path: Path, fresh_db_url: str) -> None:
    async def body() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            su = await superuser_headers(app, client)
            await _definitions(client, su)
            created = await client.post("/api/collections", json=DOCS, headers=su)
            assert created.status_code == 200, created.text
            assert created.json()["fields"][-1]["dimensions"] == 4
            await _values(client, su)
            rng = np.random.default_rng(7)
            vectors: dict[str, list[float]] = {}
            public: set[str] = set()
            for n in range(60):
                vector = [round(float(x), 3) for x in rng.normal(size=4)]
                answer = await client.post(
                    "/api/collections/docs/records",
                    json={"title": f"d{n}", "public": n % 3 != 0, "embedding": vector},
                    headers=su,
                )
                assert answer.status_code == 200, answer.text
                record = answer.json()
                vectors[record["id"]] = record["embedding"]
                if n % 3:
                    public.add(record["id"])
            app.vectors.chunk = 7  # streaming: many chunks, the running top k must merge them
            app.vectors.cache.load_chunk = 7  # the matrix too is loaded in many chunks
            query = [0.5, -1.0, 0.25, 2.0]
            # the in-memory matrix, streaming (no budget), and a budget the field exceeds
            for budget in (1 << 30, 0, 2000):
                app.vectors.cache.budget = budget
                for metric in ("cosine", "l2"):
                    # a guest sees only what the list rule shows it
                    guest = await _nearest(client, {"vector": query, "metric": metric, "k": 5})
                    want = _expected({i: vectors[i] for i in public}, query, metric, 5)
                    assert [item["record"]["id"] for item in guest["items"]] == want
                    assert guest["scanned"] == len(public)
                    distances = [item["distance"] for item in guest["items"]]
                    assert distances == sorted(distances)
                    # the superuser sees every record; a filter narrows it, by GET too
                    every = await _nearest(client, {"vector": query, "metric": metric, "k": 5}, su)
                    assert [i["record"]["id"] for i in every["items"]] == _expected(
                        vectors, query, metric, 5
                    )
            app.vectors.cache.budget = 1 << 30
            # similar records: a record's own vector is the query, and it is left out
            source = sorted(public)[0]
            similar = await _nearest(client, {"record": source, "k": 3})
            others = {i: vectors[i] for i in public if i != source}
            assert [i["record"]["id"] for i in similar["items"]] == _expected(
                others, vectors[source], "cosine", 3
            )
            hidden = next(i for i in vectors if i not in public)
            answer = await client.post(
                "/api/collections/docs/nearest", json={"field": "embedding", "record": hidden}
            )
            assert answer.status_code == 404, answer.text  # the view rule hides it
            # recommendations: the mean direction of records a user liked, under the rules;
            # a hidden record among them counts for nothing and is never returned
            liked = sorted(public)[:3]
            recommended = await _nearest(client, {"records": [*liked, hidden], "k": 4})
            units = [np.asarray(vectors[i]) / np.linalg.norm(vectors[i]) for i in liked]
            taste = [float(x) for x in np.mean(units, axis=0)]
            rest = {i: vectors[i] for i in public if i not in liked}
            assert [i["record"]["id"] for i in recommended["items"]] == _expected(
                rest, taste, "cosine", 4
            )
            by_get = await client.get(
                "/api/collections/docs/nearest",
                params={"field": "embedding", "records": ",".join(liked), "k": 4},
            )
            assert by_get.status_code == 200, by_get.text
            assert [i["record"]["id"] for i in by_get.json()["items"]] == [
                i["record"]["id"] for i in recommended["items"]
            ]
            for bad in ([], [5], ["x"] * 51, [hidden], "", [liked[0], ""]):
                answer = await client.post(
                    "/api/collections/docs/nearest", json={"field": "embedding", "records": bad}
                )
                assert answer.status_code == 400, (bad, answer.text)
                assert "records" in answer.json()["data"], (bad, answer.text)
            filtered = await client.get(
                "/api/collections/docs/nearest",
                params={"field": "embedding", "vector": "[1,0,0,0]", "filter": "title ~ 'd1%'"},
            )
            assert filtered.status_code == 200, filtered.text
            titles = [i["record"]["title"] for i in filtered.json()["items"]]
            assert titles and all(t.startswith("d1") for t in titles), titles
            assert len(titles) == len([t for t in titles if t]) <= 10
            await _bad_requests(client, su)

    asyncio.run(body())


async def _nearest(
    client: httpx.AsyncClient, args: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    answer = await client.post(
        "/api/collections/docs/nearest", json={"field": "embedding", **args}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def _definitions(client: httpx.AsyncClient, su: dict[str, str]) -> None:
    for dimensions in (0, -1, 5000, "x"):
        bad = {
            **DOCS,
            "name": "bad",
            "fields": [{"name": "e", "type": "vector", "dimensions": dimensions}],
        }
        answer = await client.post("/api/collections", json=bad, headers=su)
        assert answer.status_code == 400, (dimensions, answer.text)


async def _values(client: httpx.AsyncClient, su: dict[str, str]) -> None:
    good = await client.post(
        "/api/collections/docs/records",
        json={"title": "exact", "embedding": [0.1, 2, -3.25, 1e-3]},
        headers=su,
    )
    assert good.status_code == 200, good.text
    assert good.json()["embedding"] == [0.1, 2, -3.25, 0.001]
    read = await client.get(f"/api/collections/docs/records/{good.json()['id']}", headers=su)
    assert read.json()["embedding"] == [0.1, 2, -3.25, 0.001]
    await client.delete(f"/api/collections/docs/records/{good.json()['id']}", headers=su)
    for value in ([1, 2, 3], [1, 2, 3, "4"], [1, 2, 3, True], "nope", 7):
        answer = await client.post(
            "/api/collections/docs/records", json={"embedding": value}, headers=su
        )
        assert answer.status_code == 400, (value, answer.text)
        assert answer.json()["data"]["embedding"]["code"] == "validation_invalid_vector"


async def _bad_requests(client: httpx.AsyncClient, su: dict[str, str]) -> None:
    url = "/api/collections/docs/nearest"
    vector = [1, 0, 0, 0]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"vector": vector}, "field"),
        ({"field": "title", "vector": vector}, "field"),
        ({"field": "embedding"}, "vector"),
        ({"field": "embedding", "vector": [1, 2]}, "vector"),
        ({"field": "embedding", "vector": "[1,2"}, "vector"),
        ({"field": "embedding", "vector": [0, 0, 0, 0]}, "vector"),
        ({"field": "embedding", "vector": vector, "k": 0}, "k"),
        ({"field": "embedding", "vector": vector, "k": 101}, "k"),
        ({"field": "embedding", "vector": vector, "k": "x"}, "k"),
        ({"field": "embedding", "vector": vector, "metric": "dot"}, "metric"),
        ({"field": "embedding", "vector": vector, "filter": "title = ("}, "filter"),
        ({"field": "embedding", "vector": vector, "record": "x"}, "record"),
        ({"field": "embedding", "record": 5}, "record"),
    ]
    for sent, key in cases:
        answer = await client.post(url, json=sent)
        assert answer.status_code == 400, (sent, answer.text)
        assert key in answer.json()["data"], (sent, answer.json())
    assert (await client.post(url, json=[1])).status_code == 400
    assert (await client.get("/api/collections/missing/nearest")).status_code == 404
    locked = await client.patch("/api/collections/docs", json={"listRule": None}, headers=su)
    assert locked.status_code == 200, locked.text
    answer = await client.post(url, json={"field": "embedding", "vector": vector})
    assert answer.status_code == 403, answer.text
    answer = await client.post(url, json={"field": "embedding", "vector": vector}, headers=su)
    assert answer.status_code == 200, answer.text


NOTES = {
    "name": "vecnotes",
    "type": "base",
    "listRule": "public = true",
    "viewRule": "public = true",
    "createRule": "",
    "updateRule": "",
    "deleteRule": "",
    "fields": [
        {"name": "public", "type": "bool"},
        {"name": "embedding", "type": "vector", "dimensions": 4},
    ],
}


def test_the_matrix_sees_every_write_of_another_process_at_once(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """The in-memory matrix is loaded once, then caught up from the change log: a write
    by another server process shows in the very next search, with no reload."""

    async def body() -> None:
        data_dir = tmp_path / "kb_data"
        async with serving(data_dir, fresh_db_url) as (app, client):
            su = await superuser_headers(app, client)
            created = await client.post("/api/collections", json=NOTES, headers=su)
            assert created.status_code == 200, created.text
            url = "/api/collections/vecnotes"
            rng = np.random.default_rng(11)
            vectors: dict[str, list[float]] = {}
            for n in range(30):
                answer = await client.post(
                    f"{url}/records",
                    json={"public": n % 5 != 0, "embedding": rng.normal(size=4).tolist()},
                )
                assert answer.status_code == 200, answer.text
                if n % 5:
                    vectors[answer.json()["id"]] = answer.json()["embedding"]
            query = [1.0, 0.5, -0.25, 2.0]

            async def search(k: int = 5) -> list[str]:
                answer = await client.post(
                    f"{url}/nearest", json={"field": "embedding", "vector": query, "k": k}
                )
                assert answer.status_code == 200, answer.text
                assert answer.json()["scanned"] == len(vectors)
                return [item["record"]["id"] for item in answer.json()["items"]]

            # searches that start at once load the matrix once
            first = await asyncio.gather(*(search() for _ in range(4)))
            assert first == [_expected(vectors, query, "cosine", 5)] * 4
            assert app.vectors.cache.loads == 1
            extra = ("--db", fresh_db_url) if fresh_db_url else ()
            other = ServerProcess(data_dir, *extra)
            try:
                async with httpx.AsyncClient(base_url=other.url) as there:
                    # an update elsewhere: the record is nearest in the next search
                    moved = sorted(vectors)[3]
                    answer = await there.patch(
                        f"{url}/records/{moved}", json={"embedding": [2, 1, -0.5, 4]}
                    )
                    assert answer.status_code == 200, answer.text
                    vectors[moved] = answer.json()["embedding"]
                    assert (await search())[0] == moved
                    # a create elsewhere
                    answer = await there.post(
                        f"{url}/records", json={"public": True, "embedding": [1, 0.5, -0.25, 2.1]}
                    )
                    assert answer.status_code == 200, answer.text
                    vectors[answer.json()["id"]] = answer.json()["embedding"]
                    assert await search() == _expected(vectors, query, "cosine", 5)
                    # a delete elsewhere, and a record hidden by the list rule elsewhere
                    gone, hidden = (await search())[:2]
                    assert (await there.delete(f"{url}/records/{gone}")).status_code == 204
                    del vectors[gone]
                    answer = await there.patch(f"{url}/records/{hidden}", json={"public": False})
                    assert answer.status_code == 200, answer.text
                    del vectors[hidden]
                    assert await search(10) == _expected(vectors, query, "cosine", 10)
            finally:
                other.stop()
            assert app.vectors.cache.loads == 1  # caught up from the log, never read again
            # a truncate is a reset in the log: the matrix is loaded again, empty
            await app.records.truncate(app.records.collection("vecnotes"))
            vectors.clear()
            assert await search() == []
            assert app.vectors.cache.loads == 2

    asyncio.run(body())


def test_a_change_committed_behind_an_older_transaction_is_not_skipped(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """PostgreSQL: a transaction that began earlier may commit after a later one. The
    search that saw the later one must not move its cursor past the earlier one."""
    if not fresh_db_url:
        pytest.skip("SQLite writes one transaction at a time")

    async def body() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            su = await superuser_headers(app, client)
            created = await client.post("/api/collections", json=NOTES, headers=su)
            assert created.status_code == 200, created.text
            url = "/api/collections/vecnotes"
            ids = []
            for vector in ([0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]):
                answer = await client.post(
                    f"{url}/records", json={"public": True, "embedding": vector}
                )
                ids.append(answer.json()["id"])
            early, late, _ = ids

            async def nearest() -> str:
                answer = await client.post(
                    f"{url}/nearest", json={"field": "embedding", "vector": [1, 0, 0, 0], "k": 1}
                )
                assert answer.status_code == 200, answer.text
                return str(answer.json()["items"][0]["record"]["id"])

            await nearest()
            collection = app.records.collection("vecnotes")
            opened, release = asyncio.Event(), asyncio.Event()

            async def older_transaction() -> None:  # a task: a transaction of its own
                async with app.store.transaction() as older:
                    record = (await app.records.find_by_filter(collection, f"id = '{early}'"))[0]
                    record.data["embedding"] = [1.0, 0.0, 0.0, 0.0]
                    assert await app.records.save(older, record, ["embedding"])
                    opened.set()
                    await release.wait()

            task = asyncio.create_task(older_transaction())
            await opened.wait()
            # a later transaction commits first; the search sees it
            answer = await client.patch(f"{url}/records/{late}", json={"embedding": [1, 0.1, 0, 0]})
            assert answer.status_code == 200, answer.text
            assert await nearest() == late
            release.set()
            await task
            # the older one commits now: the next search must see it
            assert await nearest() == early
            assert app.vectors.cache.loads == 1

    asyncio.run(body())


async def _two_vector_fields(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, seed: int
) -> tuple[dict[str, dict[str, list[float]]], Callable[..., Awaitable[None]]]:
    """A collection ``name`` with vector fields ``a`` and ``b`` (4 dimensions) and 20
    records: their vectors by field and id, and a function that adds one more."""
    two = {
        "name": name,
        "type": "base",
        "listRule": "",
        "createRule": "",
        "fields": [
            {"name": "a", "type": "vector", "dimensions": 4},
            {"name": "b", "type": "vector", "dimensions": 4},
        ],
    }
    created = await client.post("/api/collections", json=two, headers=headers)
    assert created.status_code == 200, created.text
    rng = np.random.default_rng(seed)
    vectors: dict[str, dict[str, list[float]]] = {"a": {}, "b": {}}

    async def add(names: tuple[str, ...] = ("a", "b")) -> None:
        sent = {field: rng.normal(size=4).tolist() for field in names}
        answer = await client.post(f"/api/collections/{name}/records", json=sent)
        assert answer.status_code == 200, answer.text
        for field in names:
            vectors[field][answer.json()["id"]] = answer.json()[field]

    for _ in range(20):
        await add()
    return vectors, add


def test_matrices_share_the_memory_budget(tmp_path: Path, fresh_db_url: str) -> None:
    """Two fields whose matrices do not fit the budget together: the least recently
    searched one goes, and every answer stays exact."""

    async def body() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            su = await superuser_headers(app, client)
            vectors, _ = await _two_vector_fields(client, su, "vectwo", 5)
            app.vectors.cache.budget = 4000  # one matrix of 20 rows (about 3 KB), not two
            query = [0.3, -1.0, 2.0, 0.5]
            for n, name in enumerate(["a", "b", "a", "a", "b"]):
                answer = await client.post(
                    "/api/collections/vectwo/nearest",
                    json={"field": name, "vector": query, "k": 4, "metric": "l2"},
                )
                assert answer.status_code == 200, answer.text
                got = [item["record"]["id"] for item in answer.json()["items"]]
                assert got == _expected(vectors[name], query, "l2", 4)
                assert app.vectors.cache.loads == [1, 2, 3, 3, 4][n]

    asyncio.run(body())


def test_a_matrix_that_grows_by_catching_up_keeps_the_cache_within_its_budget(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """Two matrices that fit the budget together; new rows make one grow as it
    catches up (no full load): the other goes, so the total never passes the budget."""

    async def body() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            su = await superuser_headers(app, client)
            _, add = await _two_vector_fields(client, su, "vecgrow", 9)
            cache = app.vectors.cache
            cache.budget = 13_000  # two matrices of 20 rows (about 3 KB each)
            query = {"vector": [0.3, -1.0, 2.0, 0.5], "k": 3}

            async def search(name: str) -> None:
                answer = await client.post(
                    "/api/collections/vecgrow/nearest", json={"field": name, **query}
                )
                assert answer.status_code == 200, answer.text

            await search("a")
            await search("b")
            assert cache.loads == 2 and len(cache._entries) == 2
            for _ in range(30):  # caught up from the log, not loaded again: "a" grows (12 KB)
                await add(("a",))
            await search("a")
            assert cache.loads == 2
            used = sum(entry.nbytes for entry in cache._entries.values())
            assert used <= cache.budget, f"{used} bytes cached, over the {cache.budget} budget"

    asyncio.run(body())


def test_matrices_loaded_at_once_share_the_budget_while_they_load(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """Two fields searched at once, whose matrices do not fit the budget together:
    the one loading holds its share, so the other streams instead of loading too
    (both in memory at once, twice the budget). Both answers are exact."""

    async def body() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            su = await superuser_headers(app, client)
            vectors, _ = await _two_vector_fields(client, su, "vecboth", 11)
            cache = app.vectors.cache
            cache.budget = 4000  # one matrix of 20 rows (about 3 KB), not two
            cache.load_chunk = 1  # a load of many reads, which the other search overlaps
            query = [0.3, -1.0, 2.0, 0.5]

            async def search(name: str) -> list[str]:
                answer = await client.post(
                    "/api/collections/vecboth/nearest",
                    json={"field": name, "vector": query, "k": 4, "metric": "l2"},
                )
                assert answer.status_code == 200, answer.text
                return [item["record"]["id"] for item in answer.json()["items"]]

            got = await asyncio.gather(search("a"), search("b"))
            assert got == [_expected(vectors[name], query, "l2", 4) for name in ("a", "b")]
            assert cache.loads == 1

    asyncio.run(body())


class _RolledBack(Exception):
    pass


def test_a_search_inside_a_write_transaction_leaves_the_matrix_clean(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """A search from server code inside a write transaction sees that transaction's own
    writes; they never reach the shared matrix, so a rollback leaves no trace."""

    async def body() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            su = await superuser_headers(app, client)
            created = await client.post("/api/collections", json=NOTES, headers=su)
            assert created.status_code == 200, created.text
            ids = []
            for vector in ([0, 0, 1, 0], [0, 1, 0, 0]):
                answer = await client.post(
                    "/api/collections/vecnotes/records",
                    json={"public": True, "embedding": vector},
                )
                ids.append(answer.json()["id"])
            collection = app.records.collection("vecnotes")
            args = {"field": "embedding", "vector": [1, 0, 0, 0], "k": 1}

            async def nearest() -> str:
                found = await app.vectors.nearest(collection, args, RequestInfo())
                return str(found["items"][0]["record"]["id"])

            first = await nearest()  # loads the matrix
            other = next(i for i in ids if i != first)
            with pytest.raises(_RolledBack):
                async with app.store.transaction() as conn:
                    record = (await app.records.find_by_filter(collection, f"id = '{other}'"))[0]
                    record.data["embedding"] = [1.0, 0.0, 0.0, 0.0]
                    assert await app.records.save(conn, record, ["embedding"])
                    assert await nearest() == other  # its own write
                    raise _RolledBack
            assert await nearest() == first
            assert app.vectors.cache.loads == 1

    asyncio.run(body())


def test_a_change_pruned_before_the_next_search_reloads_the_matrix(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """Sync's log may drop a change the matrix has not read yet (pruned past its
    position): the matrix is loaded again rather than missing it."""

    async def body() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            su = await superuser_headers(app, client)
            created = await client.post("/api/collections", json=NOTES, headers=su)
            assert created.status_code == 200, created.text
            url = "/api/collections/vecnotes"
            ids = []
            for vector in ([0, 0, 1, 0], [0, 1, 0, 0]):
                answer = await client.post(
                    f"{url}/records", json={"public": True, "embedding": vector}
                )
                ids.append(answer.json()["id"])

            async def nearest() -> str:
                answer = await client.post(
                    f"{url}/nearest", json={"field": "embedding", "vector": [1, 0, 0, 0], "k": 1}
                )
                assert answer.status_code == 200, answer.text
                return str(answer.json()["items"][0]["record"]["id"])

            first = await nearest()
            other = next(i for i in ids if i != first)
            answer = await client.patch(f"{url}/records/{other}", json={"embedding": [1, 0, 0, 0]})
            assert answer.status_code == 200, answer.text
            await asyncio.sleep(0.01)
            app.sync.window_seconds = 0.001
            assert await app.sync.prune() > 0  # the update's change is gone from the log
            assert await nearest() == other
            assert app.vectors.cache.loads == 2

    asyncio.run(body())
