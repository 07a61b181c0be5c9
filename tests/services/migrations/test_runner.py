"""The migrations runner on real stores: apply, revert, fail atomically, refuse bad files."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from keelbase.services.migrations.files import MigrationError
from keelbase.services.migrations.runner import APPLIED, MISSING, PENDING
from tests.pg import fresh_database
from tests.services.migrations.support import (
    applied_files,
    make_app,
    schema_json,
    table_names,
    write,
)

pytestmark = pytest.mark.anyio

CREATE_POSTS = """
    from keelbase import App


    async def up(app: App) -> None:
        await app.collections.create(
            {"name": "posts", "listRule": "", "fields": [{"name": "title", "type": "text"}]}
        )
        await app.create_record("posts", {"title": "first"})


    async def down(app: App) -> None:
        await app.collections.delete("posts")
"""

ADD_TAGS = """
    async def up(app):
        tags = await app.collections.create({"name": "tags", "fields": [{"name": "label", "type": "text"}]})
        posts = app.collections.get("posts")
        fields = [f.to_json() for f in posts.fields]
        fields.append({"name": "tags", "type": "relation", "collectionId": tags.id, "maxSelect": 5})
        await app.collections.update("posts", {"fields": fields})


    async def down(app):
        posts = app.collections.get("posts")
        fields = [f.to_json() for f in posts.fields if f.name != "tags"]
        await app.collections.update("posts", {"fields": fields})
        await app.collections.delete("tags")
"""


async def test_up_applies_pending_files_in_order_once(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "kb_migrations"
    write(folder, "1700000002_add_tags.py", ADD_TAGS)
    write(folder, "1700000001_create_posts.py", CREATE_POSTS)
    async with make_app(tmp_path / "kb_data", db_url, folder) as app:
        assert [s.state for s in await app.migrations.status()] == [PENDING, PENDING]
        assert await app.migrations.up() == ["1700000001_create_posts.py", "1700000002_add_tags.py"]
        posts = app.collections.get("posts")
        assert posts.field("tags") is not None
        assert await app.records.count(posts) == 1
        assert await applied_files(app) == [
            "1700000001_create_posts.py",
            "1700000002_add_tags.py",
        ]
        assert await app.migrations.up() == []
        states = await app.migrations.status()
        assert [(s.file, s.state) for s in states] == [
            ("1700000001_create_posts.py", APPLIED),
            ("1700000002_add_tags.py", APPLIED),
        ]
        assert all(s.applied for s in states)


async def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "kb_migrations"
    write(folder, "1700000001_create_posts.py", CREATE_POSTS)
    write(
        folder,
        "1700000002_half_done.py",
        """
        async def up(app):
            await app.collections.create({"name": "tags", "fields": [{"name": "label", "type": "text"}]})
            await app.create_record("tags", {"label": "kept?"})
            await app.collections.update("posts", {"listRule": "id != ''"})
            await app.create_record("posts", {"title": "second"})
            raise RuntimeError("boom after the changes")
        """,
    )
    async with make_app(tmp_path / "kb_data", db_url, folder) as app:
        with pytest.raises(MigrationError) as failure:
            await app.migrations.up()
        message = str(failure.value)
        assert "1700000002_half_done.py" in message
        assert "RuntimeError: boom after the changes" in message
        assert "Traceback" in message
        # the first migration stays applied; nothing of the second one is kept
        assert await applied_files(app) == ["1700000001_create_posts.py"]
        assert app.collections.schema.get("tags") is None
        assert "tags" not in await table_names(app)
        posts = app.collections.get("posts")
        assert posts.listRule == ""
        assert await app.records.count(posts) == 1
        # the app works on: the same names can be used by a later change
        await app.collections.create({"name": "tags", "fields": []})

    async with make_app(tmp_path / "kb_data", db_url, folder) as again:
        assert again.collections.schema.get("tags") is not None
        assert "tags" in await table_names(again)


async def test_a_file_that_cannot_load_stops_the_run_before_anything_applies(
    tmp_path: Path, db_url: str
) -> None:
    folder = tmp_path / "kb_migrations"
    write(folder, "1700000001_create_posts.py", CREATE_POSTS)
    write(folder, "1700000002_broken.py", "async def up(app)\n    pass\n")
    async with make_app(tmp_path / "kb_data", db_url, folder) as app:
        with pytest.raises(MigrationError) as failure:
            await app.migrations.up()
        assert "1700000002_broken.py cannot be loaded" in str(failure.value)
        assert "SyntaxError" in str(failure.value)
        assert await applied_files(app) == []
        assert app.collections.schema.get("posts") is None


async def test_files_without_up_or_with_a_bad_name_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "kb_migrations"
    write(folder, "_helpers.py", "VALUE = 1\n")  # a helper, not a migration
    write(folder, "1700000001_nothing.py", "def down(app):\n    pass\n")
    async with make_app(tmp_path / "kb_data", "", folder) as app:
        with pytest.raises(MigrationError, match="defines no up"):
            await app.migrations.up()
        write(folder, "add_posts.py", CREATE_POSTS)
        with pytest.raises(MigrationError, match=r"TIMESTAMP_name\.py"):
            await app.migrations.status()
        assert await applied_files(app) == []


async def test_create_writes_a_blank_file_that_applies(tmp_path: Path) -> None:
    folder = tmp_path / "kb_migrations"
    async with make_app(tmp_path / "kb_data", "", folder) as app:
        first = app.migrations.create("Add posts")
        second = app.migrations.create("addTags")
        assert first.name.endswith("_add_posts.py") and second.name.endswith("_add_tags.py")
        assert first.name < second.name  # made in the same second, still in order
        assert app.migrations.create("smoke test").name.endswith("_smoke_test_.py")
        with pytest.raises(MigrationError, match="not a usable migration name"):
            app.migrations.create("!!!")
        assert len(await app.migrations.up()) == 3


async def test_plain_functions_work_as_migrations(tmp_path: Path) -> None:
    folder = tmp_path / "kb_migrations"
    write(
        folder,
        "1700000001_sync.py",
        """
        def up(app):
            # a plain function may hand back the awaitable it starts
            return app.collections.create({"name": "plain", "fields": []})
        """,
    )
    async with make_app(tmp_path / "kb_data", "", folder) as app:
        assert await app.migrations.up() == ["1700000001_sync.py"]
        assert app.collections.schema.get("plain") is not None


async def test_down_reverts_the_newest_and_refuses_bad_requests_whole(
    tmp_path: Path, db_url: str
) -> None:
    folder = tmp_path / "kb_migrations"
    write(folder, "1700000001_create_posts.py", CREATE_POSTS)
    write(folder, "1700000002_add_tags.py", ADD_TAGS)
    write(
        folder,
        "1700000003_one_way.py",
        """
        async def up(app):
            await app.create_record("posts", {"title": "one way"})
        """,
    )
    async with make_app(tmp_path / "kb_data", db_url, folder) as app:
        await app.migrations.up()
        before = schema_json(app)
        # the newest has no down(): nothing is reverted, not even the ones before it
        with pytest.raises(MigrationError, match=r"1700000003_one_way\.py defines no down"):
            await app.migrations.down(2)
        assert len(await applied_files(app)) == 3
        with pytest.raises(MigrationError, match="1 or more"):
            await app.migrations.down(0)

        (folder / "1700000003_one_way.py").unlink()
        with pytest.raises(MigrationError, match="no such file"):
            await app.migrations.down()
        assert [s.state for s in await app.migrations.status()] == [APPLIED, APPLIED, MISSING]
        assert schema_json(app) == before

        assert await app.migrations.history_sync() == ["1700000003_one_way.py"]
        assert await app.migrations.down() == ["1700000002_add_tags.py"]
        assert app.collections.schema.get("tags") is None
        assert app.collections.get("posts").field("tags") is None
        assert await app.migrations.down(5) == ["1700000001_create_posts.py"]
        assert app.collections.schema.get("posts") is None
        assert await applied_files(app) == []
        assert {"posts", "tags"}.isdisjoint(await table_names(app))
        assert await app.migrations.up() == [
            "1700000001_create_posts.py",
            "1700000002_add_tags.py",
        ]


async def test_a_failing_down_keeps_the_migration_applied(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "kb_migrations"
    write(
        folder,
        "1700000001_create_posts.py",
        CREATE_POSTS.replace(
            'await app.collections.delete("posts")',
            'await app.collections.delete("posts")\n        raise ValueError("cannot undo")',
        ),
    )
    async with make_app(tmp_path / "kb_data", db_url, folder) as app:
        await app.migrations.up()
        with pytest.raises(MigrationError, match=r"reverting 1700000001_create_posts\.py failed"):
            await app.migrations.down()
        assert await applied_files(app) == ["1700000001_create_posts.py"]
        assert app.collections.schema.get("posts") is not None
        assert "posts" in await table_names(app)


async def test_snapshot_recreates_the_schema_on_an_empty_app(tmp_path: Path) -> None:
    folder = tmp_path / "kb_migrations"
    async with make_app(tmp_path / "a", "", folder) as source:
        users = source.collections.get("users")
        # a relation to a collection created later: the snapshot puts the target first
        await source.collections.create(
            {"name": "cards", "fields": [{"name": "n", "type": "text"}]}
        )
        await source.collections.create(
            {
                "name": "decks",
                "listRule": "@request.auth.id != ''",
                "fields": [
                    {"name": "owner", "type": "relation", "collectionId": users.id},
                    {"name": "title", "type": "text", "required": True, "max": 50},
                ],
                "indexes": ["CREATE INDEX idx_decks_title ON decks (title)"],
            }
        )
        cards = source.collections.get("cards")
        decks = source.collections.get("decks")
        await source.collections.update(
            "cards",
            {
                "fields": [
                    *[f.to_json() for f in cards.fields],
                    {"name": "deck", "type": "relation", "collectionId": decks.id},
                ]
            },
        )
        await source.collections.create(
            {"name": "deck_titles", "type": "view", "viewQuery": "SELECT id, title FROM decks"}
        )
        await source.collections.update("users", {"listRule": "id = @request.auth.id"})
        path = await source.migrations.snapshot()
        assert await applied_files(source) == [path.name]
        expected = schema_json(source)

    async with make_app(tmp_path / "b", "", folder) as target:
        assert await target.migrations.up() == [path.name]
        assert schema_json(target) == expected


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.mark.postgres
async def test_two_nodes_starting_at_once_apply_a_migration_once(
    tmp_path: Path, pg_url: str
) -> None:
    folder = tmp_path / "kb_migrations"
    write(folder, "1700000001_create_posts.py", CREATE_POSTS)
    write(
        folder,
        "1700000002_slow_insert.py",
        """
        import asyncio

        async def up(app):
            await app.create_record("posts", {"title": "once"})
            await asyncio.sleep(0.3)  # both nodes are inside up() at once unless one waits
        """,
    )
    first = make_app(tmp_path / "a", pg_url, folder)
    second = make_app(tmp_path / "b", pg_url, folder)
    await first.start()
    await second.start()
    try:
        done = await asyncio.gather(first.migrations.up(), second.migrations.up())
        assert sorted(done[0] + done[1]) == [
            "1700000001_create_posts.py",
            "1700000002_slow_insert.py",
        ]
        posts = first.collections.get("posts")
        assert await first.records.count(posts) == 2
        assert await first.records.count(posts, "title = 'once'") == 1
        assert await applied_files(second) == [
            "1700000001_create_posts.py",
            "1700000002_slow_insert.py",
        ]
    finally:
        await first.stop()
        await second.stop()
