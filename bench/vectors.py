"""k nearest records by a vector field: ``python -m bench.vectors``.

    python -m bench.vectors [--rows 100000] [--dimensions 256] [--k 10] [--runs 5]
                            [--db postgresql://postgres@127.0.0.1:5432/test]

Seeds a collection with random float32 vectors (bulk SQL, not the API), then
times ``POST /api/collections/docs/nearest`` in process (the app and an ASGI
client on one event loop) for cosine and L2, with and without a filter that
keeps a tenth of the rows. The search is exact, so recall is 1 by
construction; the run checks the answer against numpy brute force.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench.servers import fresh_postgres
from keelbase import App, Config

BATCH = 500


async def run(rows: int, dimensions: int, k: int, runs: int, db_url: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with App(Config(data_dir=Path(folder), db_url=db_url)) as app:
            await app.collections.create(
                {
                    "name": "docs",
                    "listRule": "",
                    "fields": [
                        {"name": "tag", "type": "number"},
                        {"name": "embedding", "type": "vector", "dimensions": dimensions},
                    ],
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
            print(f"seeded {rows} x {dimensions} in {time.perf_counter() - began:.1f} s")
            transport = httpx.ASGITransport(app=app.asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://kb") as client:
                query = rng.normal(size=dimensions).astype("<f4")
                for metric in ("cosine", "l2"):
                    for filter_text in ("", "tag = 3"):
                        times = []
                        for _ in range(runs):
                            t0 = time.perf_counter()
                            answer = await client.post(
                                "/api/collections/docs/nearest",
                                json={
                                    "field": "embedding",
                                    "vector": query.tolist(),
                                    "k": k,
                                    "metric": metric,
                                    "filter": filter_text,
                                },
                                timeout=120,
                            )
                            times.append(time.perf_counter() - t0)
                            assert answer.status_code == 200, answer.text
                        got = [int(i["record"]["id"]) for i in answer.json()["items"]]
                        want = _brute_force(matrix, query, metric, k, filter_text)
                        recall = len(set(got) & set(want)) / k
                        print(
                            f"{metric:6} filter={filter_text or '-':8} k={k}: "
                            f"median {statistics.median(times) * 1000:7.1f} ms, "
                            f"best {min(times) * 1000:7.1f} ms, recall {recall:.2f}"
                        )


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
    args = parser.parse_args()
    if args.db:
        with fresh_postgres(args.db, "kb_bench_vectors") as url:
            asyncio.run(run(args.rows, args.dimensions, args.k, args.runs, url))
    else:
        asyncio.run(run(args.rows, args.dimensions, args.k, args.runs, ""))


if __name__ == "__main__":
    main()
