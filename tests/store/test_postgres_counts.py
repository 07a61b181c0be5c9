"""A whole-table list's ``totalItems`` stays exact under concurrent creates and deletes.

On PostgreSQL the total comes from the counts the triggers keep
(``store/postgres_counts.py``) instead of a scan of every row; on SQLite from
``COUNT(*)``. Both are compared with ``COUNT(*)`` read directly from the database
after many clients created and deleted records at once through a real server.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import ServerProcess

ADMIN = ("admin@example.com", "Passw0rd123")
CLIENTS = 16
CREATES_PER_CLIENT = 12


@pytest.fixture
def served(tmp_path: Path, db_url: str) -> Iterator[tuple[ServerProcess, str]]:
    data = tmp_path / "kb_data"
    extra = ["--db", db_url] if db_url else []
    subprocess.run(
        [
            sys.executable,
            "-m",
            "keelbase",
            "superuser",
            "upsert",
            *ADMIN,
            "--dir",
            str(data),
            *extra,
        ],
        check=True,
        capture_output=True,
    )
    server = ServerProcess(data, "--workers", "1", *extra)
    try:
        yield server, db_url
    finally:
        server.stop()


async def _count_in_database(server: ServerProcess, db_url: str, table: str) -> int:
    if not db_url:
        with sqlite3.connect(server.data_dir / "data.db") as conn:
            return int(conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
    conn = await asyncpg.connect(db_url)
    try:
        return int(await conn.fetchval(f'SELECT COUNT(*) FROM "{table}"'))
    finally:
        await conn.close()


async def _total(client: httpx.AsyncClient, name: str) -> int:
    page = await client.get(f"/api/collections/{name}/records", params={"perPage": 1})
    assert page.status_code == 200, page.text
    return int(page.json()["totalItems"])


def test_total_equals_count_after_concurrent_creates_and_deletes(
    served: tuple[ServerProcess, str],
) -> None:
    server, db_url = served

    async def main() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as admin:
            signed = await admin.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": ADMIN[0], "password": ADMIN[1]},
            )
            admin.headers["Authorization"] = signed.json()["token"]
            made = await admin.post(
                "/api/collections",
                json={"name": "counted", "fields": [{"name": "t", "type": "text"}],
                      "listRule": "", "createRule": "", "deleteRule": ""},
            )  # fmt: skip
            assert made.status_code == 200, made.text

            async def one_client(number: int) -> int:
                """Create records, delete every third: how many it left."""
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                    left = 0
                    for i in range(CREATES_PER_CLIENT):
                        created = await client.post(
                            "/api/collections/counted/records", json={"t": f"{number}-{i}"}
                        )
                        assert created.status_code == 200, created.text
                        left += 1
                        if i % 3 == 2:
                            record = created.json()["id"]
                            gone = await client.delete(f"/api/collections/counted/records/{record}")
                            assert gone.status_code == 204, gone.text
                            left -= 1
                        if i % 4 == 0:  # reads of the total in between
                            assert await _total(client, "counted") >= 1
                    return left

            left = sum(await asyncio.gather(*(one_client(n) for n in range(CLIENTS))))
            assert left == CLIENTS * CREATES_PER_CLIENT * 2 // 3
            assert await _total(admin, "counted") == left
            assert await _count_in_database(server, db_url, "counted") == left
            # A filtered list still counts what matches, not the table.
            page = await admin.get(
                "/api/collections/counted/records", params={"perPage": 1, "filter": "t ~ '3-'"}
            )
            assert page.json()["totalItems"] == 2 * (CREATES_PER_CLIENT * 2 // 3)  # 3-… and 13-…

    asyncio.run(main())


@pytest.mark.postgres
@pytest.mark.parametrize("fresh_db_url", ["postgres"], indirect=True)
def test_postgres_total_reads_the_kept_count_and_falls_back_without_triggers(
    served: tuple[ServerProcess, str],
) -> None:
    """The kept count is what the list answers (a tampered count shows); a table
    whose trigger is gone is counted row by row, so the answer stays right."""
    server, db_url = served

    async def main() -> None:
        conn = await asyncpg.connect(db_url)
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as admin:
                signed = await admin.post(
                    "/api/collections/_superusers/auth-with-password",
                    json={"identity": ADMIN[0], "password": ADMIN[1]},
                )
                admin.headers["Authorization"] = signed.json()["token"]
                made = await admin.post(
                    "/api/collections",
                    json={"name": "kept", "fields": [{"name": "t", "type": "text"}],
                          "listRule": "", "createRule": ""},
                )  # fmt: skip
                assert made.status_code == 200, made.text
                for i in range(5):
                    assert (
                        await admin.post("/api/collections/kept/records", json={"t": i})
                    ).is_success
                assert await _total(admin, "kept") == 5
                # Several statements' worth of rows in one go, then a rollback that must not count.
                await conn.execute(
                    "INSERT INTO kept (id, t) SELECT 'bulk' || g, 'b' FROM generate_series(1, 7) g"
                )
                async with conn.transaction():
                    await conn.execute("DELETE FROM kept WHERE id = 'bulk1'")
                    await conn.execute("SAVEPOINT s")
                    await conn.execute("DELETE FROM kept WHERE id LIKE 'bulk%'")
                    await conn.execute("ROLLBACK TO SAVEPOINT s")
                assert await _total(admin, "kept") == 11
                # The answer is the kept count: shifting it shows in the total.
                await conn.execute(
                    "UPDATE \"_kbRowCounts\" SET n = n + 1000 WHERE rel = 'kept'::regclass AND shard = 0"
                )
                assert await _total(admin, "kept") == 1011
                await conn.execute(
                    "UPDATE \"_kbRowCounts\" SET n = n - 1000 WHERE rel = 'kept'::regclass AND shard = 0"
                )
                await conn.execute("TRUNCATE kept")
                assert await _total(admin, "kept") == 0  # a short page: no count asked
                await conn.execute(
                    "INSERT INTO kept (id, t) SELECT 'again' || g, 'a' FROM generate_series(1, 3) g"
                )
                assert await _total(admin, "kept") == 3
                # Renamed, the collection's count is taken anew and stays exact.
                renamed = await admin.patch("/api/collections/kept", json={"name": "kept2"})
                assert renamed.status_code == 200, renamed.text
                assert await _total(admin, "kept2") == 3
                seeded = await conn.fetchval(
                    "SELECT name FROM \"_kbRowCounts\" WHERE rel = 'kept2'::regclass AND shard = 0"
                )
                assert seeded == "kept2"  # counted anew under its new name, in the rename
                assert (
                    await admin.post("/api/collections/kept2/records", json={"t": 9})
                ).is_success
                assert await _total(admin, "kept2") == 4
                # Counts whose row 0 names another table (restored by pg_restore under OIDs
                # the new tables do not have, or a rename behind Keelbase's back) are not used.
                await conn.execute(
                    "UPDATE \"_kbRowCounts\" SET n = n + 1000, name = 'other' "
                    "WHERE rel = 'kept2'::regclass AND shard = 0"
                )
                assert await _total(admin, "kept2") == 4
                await conn.execute(
                    "UPDATE \"_kbRowCounts\" SET n = n - 1000, name = 'kept2' "
                    "WHERE rel = 'kept2'::regclass AND shard = 0"
                )
                # Without the trigger the kept count is not trusted: COUNT(*) answers.
                await conn.execute("DROP TRIGGER _kb_rows_removed ON kept2")
                await conn.execute("DELETE FROM kept2 WHERE id LIKE 'again%'")
                assert await _total(admin, "kept2") == 1  # the record made after the rename
        finally:
            await conn.close()

    asyncio.run(main())
