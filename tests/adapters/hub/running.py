"""A real hub server on this test's loop, on a socket in a short private folder."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from keelbase.adapters.hub import HubClient, HubServer


@asynccontextmanager
async def running_hub() -> AsyncIterator[HubServer]:
    folder = tempfile.mkdtemp(prefix="kb-hub-test-", dir="/tmp")  # socket paths: 108 bytes
    server = HubServer(str(Path(folder) / "hub.sock"))
    await server.start()
    try:
        yield server
    finally:
        await server.close()
        shutil.rmtree(folder, ignore_errors=True)


async def connected(server: HubServer) -> HubClient:
    client = HubClient(server.path)
    await client.start()
    assert client.connected
    return client
