"""/api/settings under concurrent changes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.api.conftest import serving, superuser_headers

# Each patch changes one value; together they touch several sections and keys.
PATCHES: list[dict[str, Any]] = [
    {"meta": {"appName": "Renamed"}},
    {"meta": {"senderName": "Help desk"}},
    {"meta": {"hideControls": True}},
    {"smtp": {"host": "mail.example.com"}},
    {"batch": {"maxRequests": 7}},
    {"logs": {"maxDays": 9}},
    {"trustedProxy": {"headers": ["X-Real-IP"]}},
    {"backups": {"cronMaxKeep": 5}},
]


def test_concurrent_patches_of_different_values_all_stay(tmp_path: Path, fresh_db_url: str) -> None:
    """Each patch is merged into the settings as the previous one left them."""

    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            headers = await superuser_headers(app, client)
            answers = await asyncio.gather(
                *(client.patch("/api/settings", json=patch, headers=headers) for patch in PATCHES)
            )
            assert [a.status_code for a in answers] == [200] * len(PATCHES)
            final = (await client.get("/api/settings", headers=headers)).json()
            for patch in PATCHES:
                for section, values in patch.items():
                    for key, value in values.items():
                        assert final[section][key] == value, (section, key)

    asyncio.run(main())
