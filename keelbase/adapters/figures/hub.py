"""Figure buckets in the local hub: every worker adds to the same buckets, any answers for all.

While the hub is unreachable a worker adds to and reads its own buckets.
"""

from __future__ import annotations

from keelbase.adapters.figures.base import Batch
from keelbase.adapters.figures.memory import MemoryBuckets
from keelbase.adapters.hub.client import HubClient, HubUnavailable


class HubBuckets:
    def __init__(self, client: HubClient) -> None:
        self.client = client
        self._local = MemoryBuckets()

    async def add(self, batch: Batch) -> None:
        if self.client.connected:
            try:
                await self.client.call("add", [list(entry) for entry in batch])
                return
            except HubUnavailable:
                pass
        await self._local.add(batch)

    async def read(self, keys: list[str]) -> list[dict[str, int]]:
        if self.client.connected:
            try:
                answer = await self.client.call("read", keys)
                return [{str(k): int(v) for k, v in bucket.items()} for bucket in answer]
            except HubUnavailable:
                pass
        return await self._local.read(keys)

    async def ping(self) -> bool:
        if not self.client.connected:
            return False
        try:
            return bool(await self.client.call("ping"))
        except HubUnavailable:
            return False

    async def close(self) -> None:
        await self._local.close()
