"""The import's bulk load (``Connection.insert_many``: PostgreSQL ``COPY``, SQLite
multi-row ``INSERT``) stores every field kind exactly as record writes store it,
and keeps PostgreSQL's kept row counts equal to ``COUNT(*)``, after an import and
after a backup restore. Runs on both stores."""

from __future__ import annotations

import asyncio
import zipfile
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest

from keelbase import App, Config
from keelbase.core.request_info import SYSTEM
from keelbase.services.transfer.archive import records_member
from keelbase.services.transfer.service import TransferError, TransferService
from keelbase.store import postgres_counts
from keelbase.store.base import Store
from tests.pg import fresh_database

TEXTS = ["plain", "tab\there", "new\nline\r\nand back\\slash \\N", "ünïcødé ✓ 𝄞", ""]
NUMBERS = [0, -1, 1.5, -0.125, 2**53 + 2, 1e300, -1.7976931348623157e308, 5e-324, 0.1 + 0.2]
JSONS: list[Any] = [
    None,
    {"b": [1, 2.5, {"z": None, "a": "x\ty"}], "a": True},
    [1, "two", None, False],
    "a string",
    12.75,
    {"nul": "\\N", "quote": 'say "hi"', "nested": {"deep": [[[]]]}},
]


def fields() -> list[dict[str, Any]]:
    return [
        {"name": "title", "type": "text"},
        {"name": "amount", "type": "number"},
        {"name": "done", "type": "bool"},
        {"name": "payload", "type": "json"},
        {"name": "tags", "type": "select", "maxSelect": 3, "values": ["a", "b", "c"]},
        {"name": "docs", "type": "file", "maxSelect": 5},
        {"name": "links", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 5},
        {"name": "where", "type": "geoPoint"},
        {"name": "embedding", "type": "vector", "dimensions": 3},
        {"name": "due", "type": "date"},
        {"name": "site", "type": "url"},
        {"name": "contact", "type": "email"},
        {"name": "notes", "type": "editor"},
        {"name": "created", "type": "autodate", "onCreate": True},
        {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
    ]


class Recorder:
    """A statement tracer that keeps the SQL text of each statement."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def statement(self, sql: str) -> AbstractContextManager[object]:
        self.statements.append(sql)
        return nullcontext()


async def fill(app: App) -> None:
    users = app.collections.schema.get("users")
    assert users is not None
    user_ids = []
    for n in range(3):
        made = await app.records.create(
            users,
            {
                "email": f"u{n}@example.com",
                "password": "secret-pass-1",
                "passwordConfirm": "secret-pass-1",
            },
            SYSTEM,
        )
        user_ids.append(made["id"])
    await app.collections.create({"name": "kinds", "type": "base", "fields": fields()})
    kinds = app.collections.schema.get("kinds")
    assert kinds is not None
    for n in range(45):
        await app.records.create(
            kinds,
            {
                "title": TEXTS[n % len(TEXTS)],
                "amount": NUMBERS[n % len(NUMBERS)],
                "done": n % 2 == 0,
                "payload": JSONS[n % len(JSONS)],
                "tags": ["a", "c"][: n % 3],
                "links": user_ids[: n % 4],
                "where": {"lon": -122.41 + n / 7, "lat": 37.77 - n / 3},
                "embedding": [n / 3, -n, 0.5] if n % 4 else [],
                "due": "" if n % 5 == 0 else f"2026-0{1 + n % 9}-1{n % 10} 08:30:00.125Z",
                "site": "https://example.com/a?b=c\\d" if n % 2 else "",
                "contact": f"c{n}@example.com" if n % 3 else "",
                "notes": "<p>line\none\ttab</p>" if n % 2 else "",
            },
            SYSTEM,
        )
    async with app.store.transaction() as conn:  # stored file names, without uploading
        await conn.execute(
            'UPDATE "kinds" SET "docs" = :docs WHERE "title" = :title',
            {"docs": '["a_x1.txt","b b_x2.png"]', "title": "plain"},
        )


async def raw_rows(store: Store, tables: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every stored value of every row, as the store reads it back (row order by id)."""
    out = {}
    async with store.read() as conn:
        for table in tables:
            rows = await conn.fetch_all(f'SELECT * FROM "{table}" ORDER BY "id"')
            out[table] = [{k: v for k, v in row.items() if k != "_rowid_"} for row in rows]
    return out


async def counts_match(store: Store, tables: list[str]) -> None:
    """On PostgreSQL the kept counts are in use for each table and equal ``COUNT(*)``."""
    if store.dialect.name != "postgres":
        return
    async with store.read() as conn:
        for table in tables:
            quoted = f'"{table}"'
            kept = await conn.fetch_value(
                f"SELECT CAST(SUM(n) AS BIGINT) FROM {postgres_counts.TABLE} "
                f"WHERE rel = to_regclass('{quoted}')"
            )
            counted = await conn.fetch_value(f"SELECT COUNT(*) FROM {quoted}")
            answered = await conn.fetch_value(postgres_counts.count_sql(quoted, f"FROM {quoted}"))
            assert kept == counted == answered, (table, kept, counted, answered)


def assert_same(
    got: dict[str, list[dict[str, Any]]], want: dict[str, list[dict[str, Any]]]
) -> None:
    """Equal row by row and value by value, with the same types (1 is not 1.0 nor True)."""
    assert list(got) == list(want)
    for table, rows in want.items():
        assert [r["id"] for r in got[table]] == [r["id"] for r in rows], table
        for stored, expected in zip(got[table], rows, strict=True):
            assert list(stored) == list(expected), table
            for key, value in expected.items():
                assert (type(stored[key]), stored[key]) == (type(value), value), (table, key)


def members(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as opened:
        return {
            name: opened.read(name) for name in opened.namelist() if name.startswith("records/")
        }


def test_every_field_kind_round_trips_byte_for_byte(tmp_path: Path, fresh_db_url: str) -> None:
    tables = ["kinds", "users", "_superusers"]

    async def main(target_url: str) -> None:
        first = tmp_path / "first.zip"
        second = tmp_path / "second.zip"
        async with App(Config(data_dir=tmp_path / "source", db_url=fresh_db_url)) as source:
            await fill(source)
            source_rows = await raw_rows(source.store, tables)
            exported = await TransferService(source.store).export(first)
        async with App(Config(data_dir=tmp_path / "target", db_url=target_url)) as target:
            recorder = Recorder()
            target.store.tracer = recorder
            await TransferService(target.store).import_(first)
            target.store.tracer = None
            if target.store.dialect.name == "postgres":
                assert any(s.startswith('COPY "kinds"') for s in recorder.statements)
                assert not any(s.startswith('INSERT INTO "kinds"') for s in recorder.statements)
            assert_same(await raw_rows(target.store, tables), source_rows)
            await counts_match(target.store, tables)
            again = await TransferService(target.store).export(second)
        assert again["data"] == exported["data"]
        assert members(second) == members(first)
        kinds = next(c for c in exported["collections"] if c["name"] == "kinds")
        assert exported["data"][kinds["id"]]["count"] == 45
        assert members(first)[records_member(kinds["id"])].count(b"\n") == 45

    if fresh_db_url:
        with fresh_database() as target_url:
            asyncio.run(main(target_url))
    else:
        asyncio.run(main(""))


def test_row_counts_stay_exact_after_a_restore(tmp_path: Path, fresh_db_url: str) -> None:
    tables = ["kinds", "users"]

    async def main() -> None:
        async with App(Config(data_dir=tmp_path / "app", db_url=fresh_db_url)) as app:
            await fill(app)
            before = await raw_rows(app.store, tables)
            await app.backups.create("base.zip")
            kinds = app.collections.schema.get("kinds")
            assert kinds is not None
            for n in range(7):
                await app.records.create(kinds, {"title": f"after {n}"}, SYSTEM)
            async with app.store.transaction() as conn:
                await conn.execute(
                    'DELETE FROM "users" WHERE "email" = :e', {"e": "u0@example.com"}
                )
            await app.backups.restore("base.zip")
            assert_same(await raw_rows(app.store, tables), before)
            await counts_match(app.store, tables)
            kinds = app.collections.schema.get("kinds")
            assert kinds is not None
            await app.records.create(kinds, {"title": "one more"}, SYSTEM)
            await counts_match(app.store, tables)

    asyncio.run(main())


def test_a_refused_record_rolls_the_bulk_load_back_and_a_rerun_works(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """The same id twice: the bulk load fails, nothing of the import stays, and the
    connection is sound for the next import."""

    async def main(target_url: str) -> None:
        good = tmp_path / "good.zip"
        bad = tmp_path / "bad.zip"
        async with App(Config(data_dir=tmp_path / "source", db_url=fresh_db_url)) as source:
            await fill(source)
            manifest = await TransferService(source.store).export(good)
        kinds = next(c for c in manifest["collections"] if c["name"] == "kinds")
        member = records_member(kinds["id"])
        with zipfile.ZipFile(good) as opened, zipfile.ZipFile(bad, "w") as out:
            for name in opened.namelist():
                content = opened.read(name)
                if name == member:
                    content += content.split(b"\n")[0] + b"\n"
                out.writestr(name, content)
        async with App(Config(data_dir=tmp_path / "target", db_url=target_url)) as target:
            with pytest.raises(TransferError, match=r"lines 1-46: the target store refused"):
                await TransferService(target.store).import_(bad)
            assert target.collections.schema.get("kinds") is None
            async with target.store.read() as conn:
                assert await conn.fetch_value('SELECT COUNT(*) FROM "users"') == 0
            await TransferService(target.store).import_(good)
            await counts_match(target.store, ["kinds", "users"])
            async with target.store.read() as conn:
                assert await conn.fetch_value('SELECT COUNT(*) FROM "kinds"') == 45

    if fresh_db_url:
        with fresh_database() as target_url:
            asyncio.run(main(target_url))
    else:
        asyncio.run(main(""))
