"""Collection changes inside a caller's transaction (a migration, ``app.transaction()``):
this node sees them at once, keeps seeing them, and forgets them if the transaction rolls back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from keelbase import App, Config

pytestmark = pytest.mark.anyio


async def test_reloads_from_outside_wait_for_an_open_change(tmp_path: Path, db_url: str) -> None:
    async with App(Config(data_dir=tmp_path / "kb_data", db_url=db_url)) as app:
        asked, answered = asyncio.Event(), asyncio.Event()

        async def outside() -> None:
            """As the broker and the schema watcher do: in their own task, outside the transaction."""
            await asked.wait()
            await app.collections.reload()
            await app.collections.reload_if_changed()
            answered.set()

        task = asyncio.create_task(outside())
        async with app.transaction():
            await app.collections.create({"name": "tags", "fields": []})
            asked.set()
            await answered.wait()
            # the committed schema has no "tags" yet; this node still sees its own change
            assert app.collections.schema.get("tags") is not None
            await app.create_record("tags", {})
        await task
        assert app.collections.schema.get("tags") is not None
        await app.collections.reload()
        assert app.collections.schema.get("tags") is not None


async def test_a_rolled_back_transaction_takes_its_changes_away(
    tmp_path: Path, db_url: str
) -> None:
    async with App(Config(data_dir=tmp_path / "kb_data", db_url=db_url)) as app:
        with pytest.raises(RuntimeError):
            async with app.transaction():
                await app.collections.create({"name": "tags", "fields": []})
                await app.collections.update("users", {"listRule": ""})
                raise RuntimeError("no")
        assert app.collections.schema.get("tags") is None
        assert app.collections.get("users").listRule != ""
        # and the node goes on following other changes
        await app.collections.create({"name": "tags", "fields": []})
        assert app.collections.schema.get("tags") is not None
