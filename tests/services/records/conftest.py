"""Records services on both stores, for what differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keelbase import App, Config


@pytest.fixture
async def store_app(tmp_path: Path, fresh_db_url: str) -> AsyncIterator[App]:
    """A started app on SQLite, then on a PostgreSQL database of its own."""
    async with App(Config(data_dir=tmp_path / "kb_data", db_url=fresh_db_url)) as running:
        yield running
