"""``POST /api/sql`` (the SDK's ``pb.sql.run``): superusers run one SQL query.

PocketBase 0.40 has this endpoint and runs writes too. Keelbase runs reads
only, on a connection the database keeps from writing (a ``query_only``
SQLite reader, a PostgreSQL ``READ ONLY`` transaction): a write through it
would go around the collections, their caches, hooks and realtime. Queries
that start like a write are refused before they run; anything else that
tries to write fails in the database. ``--queryTimeout`` limits the time.
At most 1000 rows come back, each value as text (or null), as PocketBase sends them.
"""

from __future__ import annotations

import time
from typing import Any

from keelbase.errors import BadRequestError, field_error, required_error
from keelbase.store.base import Store, StoreError

MAX_QUERY = 5000
MAX_ROWS = 1000
MSG_FAILED = "Failed to execute query. Raw error:\n"
WRITE_PREFIXES = ("INSERT", "CREATE", "UPDATE", "DELETE", "DROP", "DETACH", "ALTER", "REPLACE")


def query_of(body: dict[str, Any]) -> str:
    """The body's ``query`` as PocketBase checks it (also for the view dry run)."""
    query = body.get("query", "")
    if not isinstance(query, str):
        raise BadRequestError("An error occurred while loading the submitted data.")
    problem = None
    if not query:
        problem = required_error()
    elif len(query) > MAX_QUERY:
        problem = field_error(
            "validation_length_too_long",
            f"The length must be no more than {MAX_QUERY}.",
            {"max": MAX_QUERY, "min": 0},
        )
    if problem is not None:
        raise BadRequestError(
            "An error occurred while validating the submitted data.", {"query": problem}
        )
    return query.strip().rstrip(";").strip()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


class SqlConsole:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def run(self, body: dict[str, Any]) -> dict[str, Any]:
        return await run_sql(self.store, body)


async def run_sql(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    query = query_of(body)
    if not query:
        raise BadRequestError(MSG_FAILED + "empty query")
    upper = query.upper()
    if upper.startswith(WRITE_PREFIXES):
        raise BadRequestError(MSG_FAILED + "only read queries are allowed here")
    # A SELECT is wrapped so that no more than the rows shown are ever read.
    sql = heading = query
    if upper.startswith(("SELECT", "WITH")):
        sql = f"SELECT * FROM ({query}) AS __kb_sql LIMIT {MAX_ROWS}"
        heading = f"SELECT * FROM ({query}) AS __kb_sql LIMIT 0"
    started = time.perf_counter()
    try:
        async with store.read_only() as conn:
            rows = await conn.fetch_all(sql)
            columns = list(rows[0]) if rows else await conn.fetch_columns(heading)
    except StoreError as error:
        raise BadRequestError(MSG_FAILED + str(error)) from error
    return {
        "execTime": int((time.perf_counter() - started) * 1000),
        "affectedRows": 0,
        "columns": [{"name": name, "type": "", "nullable": True} for name in columns],
        "rows": [[_text(row.get(name)) for name in columns] for row in rows[:MAX_ROWS]],
    }
