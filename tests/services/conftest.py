"""Services run in-process against a real store in a temporary data folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keelbase import App, Config


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    async with App(Config(data_dir=tmp_path / "kb_data")) as running:
        yield running
