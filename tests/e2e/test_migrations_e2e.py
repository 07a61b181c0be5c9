"""Migrations as a user runs them: ``keelbase serve`` (``--dev`` automigrate, pending
migrations applied before it serves) and ``keelbase migrations ...``, as real processes."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from keelbase import App, Config
from tests.conftest import ServerProcess
from tests.pg import fresh_database

pytestmark = pytest.mark.e2e

ADMIN = ("admin@example.com", "Passw0rd123")

CREATE_POSTS = """
    async def up(app):
        await app.collections.create(
            {"name": "posts", "listRule": "", "fields": [{"name": "title", "type": "text"}]}
        )


    async def down(app):
        await app.collections.delete("posts")
"""


def keelbase(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keelbase", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def write(folder: Path, file: str, source: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file).write_text(textwrap.dedent(source))


def store_args(data_dir: Path, db_url: str, folder: Path) -> list[str]:
    args = ["--dir", str(data_dir), "--migrationsDir", str(folder)]
    return [*args, "--db", db_url] if db_url else args


def sign_in(url: str) -> dict[str, str]:
    response = httpx.post(
        url + "/api/collections/_superusers/auth-with-password",
        json={"identity": ADMIN[0], "password": ADMIN[1]},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": response.json()["token"]}


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 204), response.text
    return response.json() if response.status_code == 200 else None


def collections_of(url: str) -> list[dict[str, Any]]:
    listed = ok(httpx.get(url + "/api/collections", params={"perPage": 500}, headers=sign_in(url)))
    for item in listed["items"]:
        item.pop("created")
        item.pop("updated")
    return sorted(listed["items"], key=lambda c: c["id"])


async def collections_in(data_dir: Path, db_url: str) -> list[dict[str, Any]]:
    """The collections of a stopped app, as the API would list them."""
    async with App(Config(data_dir=data_dir, db_url=db_url)) as app:
        items = [c.to_json() for c in app.collections.schema]
    for item in items:
        item.pop("created")
        item.pop("updated")
    return sorted(items, key=lambda c: c["id"])


@pytest.fixture
def replay_db_url(db_url: str) -> Iterator[str]:
    if not db_url:
        yield ""
        return
    with fresh_database() as url:
        yield url


def test_dev_server_writes_migrations_that_rebuild_the_schema(
    tmp_path: Path, db_url: str, replay_db_url: str
) -> None:
    folder = tmp_path / "kb_migrations"
    source = store_args(tmp_path / "source", db_url, folder)
    assert keelbase("superuser", "upsert", *ADMIN, *source[:2], *source[4:]).returncode == 0
    server = ServerProcess(tmp_path / "source", "--dev", *source[2:])
    try:
        headers = sign_in(server.url)
        tags = ok(
            httpx.post(
                server.url + "/api/collections",
                headers=headers,
                json={"name": "tags", "fields": [{"name": "label", "type": "text"}]},
            )
        )
        ok(
            httpx.post(
                server.url + "/api/collections",
                headers=headers,
                json={
                    "name": "posts",
                    "listRule": "",
                    "fields": [
                        {"name": "title", "type": "text", "required": True},
                        {"name": "tags", "type": "relation", "collectionId": tags["id"]},
                    ],
                    "indexes": ["CREATE UNIQUE INDEX idx_posts_title ON posts (title)"],
                },
            )
        )
        ok(
            httpx.patch(
                server.url + "/api/collections/tags",
                headers=headers,
                json={"listRule": "", "name": "labels"},
            )
        )
        ok(
            httpx.post(
                server.url + "/api/collections",
                headers=headers,
                json={"name": "scratch", "fields": []},
            )
        )
        ok(httpx.delete(server.url + "/api/collections/scratch", headers=headers))
        expected = collections_of(server.url)
    finally:
        server.stop()
    written = sorted(p.name for p in folder.glob("*.py"))
    assert [name.split("_", 1)[1] for name in written] == [
        "created_tags.py",
        "created_posts.py",
        "updated_tags.py",
        "created_scratch.py",
        "deleted_scratch.py",
    ]
    assert keelbase("migrations", "up", *source).stdout == "No new migrations to apply.\n"

    target = store_args(tmp_path / "target", replay_db_url, folder)
    applied = keelbase("migrations", "up", *target)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines() == [f"Applied {name}" for name in written]
    assert asyncio.run(collections_in(tmp_path / "target", replay_db_url)) == expected


def test_serve_applies_pending_migrations_and_refuses_to_start_when_one_fails(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "kb_migrations"
    data = tmp_path / "kb_data"
    write(folder, "1700000001_create_posts.py", CREATE_POSTS)
    write(
        folder,
        "1700000002_half_done.py",
        """
        async def up(app):
            await app.collections.create({"name": "tags", "fields": []})
            await app.create_record("posts", {"title": "lost"})
            raise RuntimeError("cannot finish")
        """,
    )
    args = ["serve", "--http", "127.0.0.1:1", "--dir", str(data), "--migrationsDir", str(folder)]
    result = keelbase(*args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("Error: applying 1700000002_half_done.py failed")
    assert "Traceback" in result.stderr and "RuntimeError: cannot finish" in result.stderr
    assert "Server started" not in result.stdout
    with sqlite3.connect(data / "data.db") as db:
        names = {row[0] for row in db.execute('SELECT "name" FROM "_collections"')}
        assert "posts" in names and "tags" not in names
        assert db.execute('SELECT COUNT(*) FROM "posts"').fetchone() == (0,)
        assert db.execute('SELECT "file" FROM "_migrations"').fetchall() == [
            ("1700000001_create_posts.py",)
        ]

    (folder / "1700000002_half_done.py").unlink()
    write(
        folder,
        "1700000003_first_post.py",
        'def up(app):\n    return app.create_record("posts", {"title": "hi"})\n',
    )
    server = ServerProcess(data, "--migrationsDir", str(folder))
    try:
        records = ok(httpx.get(server.url + "/api/collections/posts/records"))
        assert [r["title"] for r in records["items"]] == ["hi"]
    finally:
        server.stop()
    assert "├─ migration: applied 1700000003_first_post.py" in server.log()


def test_migrations_commands_and_their_bad_input(tmp_path: Path) -> None:
    folder = tmp_path / "kb_migrations"
    data = tmp_path / "kb_data"
    args = ["--dir", str(data), "--migrationsDir", str(folder)]

    def state() -> tuple[list[str], list[tuple[str, ...]], list[str]]:
        with sqlite3.connect(data / "data.db") as db:
            applied = db.execute('SELECT "file" FROM "_migrations" ORDER BY "file"').fetchall()
            names = db.execute('SELECT "name" FROM "_collections" ORDER BY "name"').fetchall()
        return sorted(p.name for p in folder.iterdir()), applied, [n[0] for n in names]

    def refused(command: list[str], message: str) -> None:
        before = state()
        result = keelbase("migrations", *command, *args)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert result.stderr.startswith("Error: "), result.stderr
        assert message in result.stderr, result.stderr
        assert state() == before

    created = keelbase("migrations", "create", "add posts", *args)
    assert created.returncode == 0, created.stderr
    (blank,) = folder.glob("*_add_posts.py")
    assert f"Created {blank}" in created.stdout
    blank.write_text(textwrap.dedent(CREATE_POSTS))
    assert keelbase("migrations", "up", *args).stdout == f"Applied {blank.name}\n"
    snapshot = keelbase("migrations", "collections", *args)
    assert snapshot.returncode == 0, snapshot.stderr
    assert "collections_snapshot.py (recorded as applied here)" in snapshot.stdout

    write(folder, "1900000000_one_way.py", "async def up(app):\n    pass\n")
    assert keelbase("migrations", "up", *args).returncode == 0
    refused(["down", "2"], "1900000000_one_way.py defines no down(app) function")
    refused(["down", "none"], "down takes a number of migrations, not 'none'")
    (folder / "1900000000_one_way.py").unlink()
    refused(["down"], "1900000000_one_way.py is recorded as applied but there is no such file")
    status = keelbase("migrations", "status", *args).stdout.splitlines()
    assert [line.split()[0] for line in status] == ["applied", "applied", "missing"], status
    synced = keelbase("migrations", "history-sync", *args)
    assert "Forgot 1900000000_one_way.py" in synced.stdout

    write(folder, "1900000001_broken.py", "async def up(app)\n    pass\n")
    refused(["up"], "1900000001_broken.py cannot be loaded")
    (folder / "1900000001_broken.py").unlink()

    reverted = keelbase("migrations", "down", "2", *args)
    assert reverted.returncode == 0, reverted.stderr
    lines = reverted.stdout.splitlines()
    assert lines[0].endswith("_collections_snapshot.py") and lines[1] == f"Reverted {blank.name}"
    assert "posts" not in state()[2]


@pytest.mark.postgres
def test_two_nodes_starting_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    folder = tmp_path / "kb_migrations"
    write(folder, "1700000001_create_posts.py", CREATE_POSTS)
    write(
        folder,
        "1700000002_slow_first_post.py",
        """
        import asyncio

        async def up(app):
            await app.create_record("posts", {"title": "once"})
            await asyncio.sleep(1)  # the other node arrives while this one is inside
        """,
    )
    with fresh_database() as url:
        nodes: list[ServerProcess] = []
        failures: list[BaseException] = []

        def start(name: str) -> None:
            try:
                nodes.append(
                    ServerProcess(tmp_path / name, "--db", url, "--migrationsDir", str(folder))
                )
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=start, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            assert not failures, failures
            for node in nodes:
                records = ok(httpx.get(node.url + "/api/collections/posts/records"))
                assert [r["title"] for r in records["items"]] == ["once"]
        finally:
            for node in nodes:
                node.stop()
        logs = "".join(node.log() for node in nodes)
        assert logs.count("applied 1700000001_create_posts.py") == 1
        assert logs.count("applied 1700000002_slow_first_post.py") == 1
