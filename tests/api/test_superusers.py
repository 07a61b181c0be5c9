"""The last superuser cannot be deleted (PocketBase: 400 "You can't delete the only
existing superuser"), even when two superusers delete each other at the same moment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from keelbase import App
from tests.api.conftest import serving, superuser_headers

SUPERUSERS = "/api/collections/_superusers/records"


async def _second_superuser(app: App, client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    await app.superusers.upsert("second@example.com", "Passw0rd123")
    signed = await client.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": "second@example.com", "password": "Passw0rd123"},
    )
    assert signed.status_code == 200, signed.text
    return signed.json()["record"]["id"], {"Authorization": signed.json()["token"]}


def test_the_only_superuser_is_kept(tmp_path: Path, fresh_db_url: str) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            headers = await superuser_headers(app, client)
            second_id, _ = await _second_superuser(app, client)
            # with two, one may go
            gone = await client.delete(f"{SUPERUSERS}/{second_id}", headers=headers)
            assert gone.status_code == 204, gone.text
            listed = (await client.get(SUPERUSERS, headers=headers)).json()
            assert listed["totalItems"] == 1
            only = listed["items"][0]["id"]
            refused = await client.delete(f"{SUPERUSERS}/{only}", headers=headers)
            assert refused.status_code == 400, refused.text
            assert refused.json() == {
                "status": 400,
                "message": "You can't delete the only existing superuser.",
                "data": {},
            }
            assert (await client.get(f"{SUPERUSERS}/{only}", headers=headers)).status_code == 200

    asyncio.run(main())


def test_two_superusers_deleting_each_other_leave_one(tmp_path: Path, fresh_db_url: str) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            for _ in range(3):
                first_headers = await superuser_headers(app, client)
                first_id = (await client.get(SUPERUSERS, headers=first_headers)).json()["items"]
                first_id = next(r["id"] for r in first_id if r["email"] != "second@example.com")
                second_id, second_headers = await _second_superuser(app, client)
                answers = await asyncio.gather(
                    client.delete(f"{SUPERUSERS}/{second_id}", headers=first_headers),
                    client.delete(f"{SUPERUSERS}/{first_id}", headers=second_headers),
                )
                statuses = sorted(a.status_code for a in answers)
                left = await app.records.find_by_filter(app.superusers.collection, "id != ''")
                assert len(left) == 1, statuses
                # one was deleted; the other was refused, or no longer authorized (its
                # superuser had just gone)
                assert statuses[0] == 204 and statuses[1] in (400, 401, 403, 404), statuses

    asyncio.run(main())
