"""The bare-stack ceiling: Starlette + uvicorn + sqlite3, reading Keelbase's own data file.

It serves only a record by id and a 30-row page with its count, with no rules,
no hooks and no validation: what the same stack costs with nothing of Keelbase
in it. Keelbase's ratio to it shows how much the rest adds.

    python -m bench.bare_app DATA_DB PORT
"""

from __future__ import annotations

import sqlite3
import sys

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build(path: str) -> Starlette:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row

    def one(request: Request) -> Response:
        row = conn.execute(
            'SELECT * FROM "posts" WHERE "id" = ?', (request.path_params["id"],)
        ).fetchone()
        if row is None:
            return Response(b'{"status":404}', 404, media_type="application/json")
        return Response(orjson.dumps(dict(row)), media_type="application/json")

    def page(request: Request) -> Response:
        rows = conn.execute('SELECT * FROM "posts" ORDER BY "created" DESC LIMIT 30').fetchall()
        total = conn.execute('SELECT COUNT(*) FROM "posts"').fetchone()[0]
        body = {"items": [dict(r) for r in rows], "page": 1, "perPage": 30, "totalItems": total}
        return Response(orjson.dumps(body), media_type="application/json")

    async def view(request: Request) -> Response:
        return one(request)

    async def listing(request: Request) -> Response:
        return page(request)

    async def health(request: Request) -> Response:
        return Response(b'{"code":200}', media_type="application/json")

    return Starlette(
        routes=[
            Route("/api/health", health),
            Route("/api/collections/posts/records", listing),
            Route("/api/collections/posts/records/{id}", view),
        ]
    )


if __name__ == "__main__":
    uvicorn.run(
        build(sys.argv[1]),
        host="127.0.0.1",
        port=int(sys.argv[2]),
        log_level="warning",
        access_log=False,
    )
