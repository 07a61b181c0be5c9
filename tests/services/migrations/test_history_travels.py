"""The history of applied migrations travels with ``keelbase export``/``import``: the
imported app does not apply its migrations a second time."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelbase.services.transfer.service import TransferService
from tests.services.migrations.support import applied_files, make_app, write

pytestmark = pytest.mark.anyio


async def test_export_then_import_keeps_the_applied_migrations(tmp_path: Path) -> None:
    folder = tmp_path / "kb_migrations"
    write(
        folder,
        "1700000001_create_posts.py",
        """
        async def up(app):
            await app.collections.create({"name": "posts", "fields": []})
        """,
    )
    archive = tmp_path / "app.zip"
    async with make_app(tmp_path / "a", "", folder, apply_migrations=True) as source:
        await TransferService(source.store).export(archive)
    async with make_app(tmp_path / "b", "", folder) as target:
        await TransferService(target.store).import_(archive)
        assert await applied_files(target) == ["1700000001_create_posts.py"]
    # started as keelbase serve starts it: nothing is pending, nothing fails
    async with make_app(tmp_path / "b", "", folder, apply_migrations=True) as again:
        assert again.applied_at_start == []
        assert again.collections.schema.get("posts") is not None
