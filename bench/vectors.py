"""k nearest records by a vector field: ``python -m bench.vectors``.

    python -m bench.vectors [--rows 100000] [--dimensions 256] [--k 10] [--runs 5]
                            [--db postgresql://postgres@127.0.0.1:5432/test] [--stream]

Seeds a collection with random float32 vectors (bulk SQL, not the API), then
times ``POST /api/collections/docs/nearest`` in process (the app and an ASGI
client on one event loop), cosine and L2, with and without a filter that
keeps a tenth of the rows:

- ``first search``: the one that loads the field's matrix into memory;
- ``warm``: the median and best of ``--runs`` searches of each kind;
- ``after write``: one record's vector changed through the API, then one
  search (it reads that change from the log and must find the record, at
  distance 0).

Every answer is checked against numpy brute force (recall must be 1).
``--index`` indexes the filtered field with the id (``tag, id``), as a
tenant or category field would be: the matching ids then come from the index
alone, with no read of the wide rows.
``--stream`` sets the memory budget to 0, which times the streaming path
(rows read from the database at every search) instead.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.servers import fresh_postgres
from keelbase import App, Config

BATCH = 500


async def run(
    rows: int, dimensions: int, k: int, runs: int, db_url: str, stream: bool, index: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = Config(data_dir=Path(folder), db_url=db_url, vector_cache_mb=0 if stream else 1024)
        async with App(config) as app:
            await app.collections.create(
                {
                    "name": "docs",
                    "listRule": "",
                    "updateRule": "",
                    "fields": [
                        {"name": "tag", "type": "number"},
                        {"name": "embedding", "type": "vector", "dimensions": dimensions},
                    ],
                    # --index: the filtered field with the id, so the matching ids come
                    # from the index alone (a tenant or category filter would have one)
                    "indexes": ['CREATE INDEX "idx_docs_tag" ON "docs" ("tag", "id")']
                    if index
                    else [],
                }
            )
            rng = np.random.default_rng(1)
            matrix = rng.normal(size=(rows, dimensions)).astype("<f4")
            began = time.perf_counter()
            async with app.store.transaction() as conn:
                for start in range(0, rows, BATCH):
                    values, params = [], {}
                    for n in range(start, min(start + BATCH, rows)):
                        values.append(f"(:i{n}, :t{n}, :e{n})")
                        params[f"i{n}"] = f"{n:015d}"
                        params[f"t{n}"] = n % 10
                        params[f"e{n}"] = base64.b64encode(matrix[n].tobytes()).decode()
                    await conn.execute(
                        f'INSERT INTO "docs" ("id", "tag", "embedding") VALUES {", ".join(values)}',
                        params,
                    )
            store = "PostgreSQL" if db_url else "SQLite"
            path = "streaming" if stream else "in-memory matrix"
            path += ", index on (tag, id)" if index else ""
            print(
                f"{store}, {path}: seeded {rows} x {dimensions} in {time.perf_counter() - began:.1f} s"
            )
            transport = httpx.ASGITransport(app=app.asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://kb") as client:
                query = rng.normal(size=dimensions).astype("<f4")
                written = 0
                cold, answer = await _timed(client, {"vector": query.tolist(), "k": k})
                _check(answer, matrix, query, "cosine", k, "")
                what = "streams" if stream else "loads the matrix"
                print(f"  first search ({what}): {cold * 1000:7.1f} ms")
                for metric in ("cosine", "l2"):
                    for filter_text in ("", "tag = 3"):
                        args = {"vector": query.tolist(), "k": k, "metric": metric}
                        args["filter"] = filter_text
                        times = []
                        for _ in range(runs):
                            seconds, answer = await _timed(client, args)
                            times.append(seconds)
                        _check(answer, matrix, query, metric, k, filter_text)
                        # one write through the API, then a search that must see it
                        target = 10 * written + 3  # tag 3: inside the filter too
                        written += 1
                        # at distance 0 under either metric (cosine: any positive multiple)
                        matrix[target] = query if metric == "l2" else query * 0.5
                        await _write(client, target, matrix[target])
                        after, answer = await _timed(client, args)
                        _check(answer, matrix, query, metric, k, filter_text)
                        found = [i["record"]["id"] for i in answer["items"]]
                        assert f"{target:015d}" in found, (target, found)
                        print(
                            f"  {metric:6} filter={filter_text or '-':8} k={k}: "
                            f"warm median {statistics.median(times) * 1000:6.1f} ms "
                            f"(best {min(times) * 1000:6.1f}), "
                            f"after a write {after * 1000:6.1f} ms, recall 1.00"
                        )
                print(f"  full loads of the matrix: {app.vectors.cache.loads}")


async def _timed(client: httpx.AsyncClient, args: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    answer = await client.post(
        "/api/collections/docs/nearest", json={"field": "embedding", **args}, timeout=300
    )
    seconds = time.perf_counter() - t0
    assert answer.status_code == 200, answer.text
    return seconds, dict(answer.json())


async def _write(client: httpx.AsyncClient, n: int, vector: np.ndarray) -> None:
    answer = await client.patch(
        f"/api/collections/docs/records/{n:015d}", json={"embedding": vector.tolist()}
    )
    assert answer.status_code == 200, answer.text


def _check(
    answer: dict[str, Any],
    matrix: np.ndarray,
    query: np.ndarray,
    metric: str,
    k: int,
    filter_text: str,
) -> None:
    got = [int(i["record"]["id"]) for i in answer["items"]]
    want = _brute_force(matrix, query, metric, k, filter_text)
    assert got == want, (got, want)


def _brute_force(
    matrix: np.ndarray, query: np.ndarray, metric: str, k: int, filter_text: str
) -> list[int]:
    ids = np.arange(len(matrix))
    if filter_text:
        ids = ids[ids % 10 == 3]
    rows = matrix[ids].astype(np.float64)
    q = query.astype(np.float64)
    if metric == "l2":
        distances = np.linalg.norm(rows - q, axis=1)
    else:
        distances = 1 - rows @ q / (np.linalg.norm(rows, axis=1) * np.linalg.norm(q))
    return [int(i) for i in ids[np.argsort(distances, kind="stable")[:k]]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dimensions", type=int, default=256)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", default="", help="a PostgreSQL URL; SQLite when empty")
    parser.add_argument("--stream", action="store_true", help="time the streaming path")
    parser.add_argument("--index", action="store_true", help="index (tag, id)")
    args = parser.parse_args()
    options = (args.rows, args.dimensions, args.k, args.runs)
    if args.db:
        with fresh_postgres(args.db, "kb_bench_vectors") as url:
            asyncio.run(run(*options, url, args.stream, args.index))
    else:
        asyncio.run(run(*options, "", args.stream, args.index))


if __name__ == "__main__":
    main()
