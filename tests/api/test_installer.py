"""/api/installer: the one-time link creates the first superuser, once, and nothing else."""

from __future__ import annotations

import asyncio
from pathlib import Path

from keelbase.services.auth.installer import INSTALLER_KEY
from keelbase.store import system
from tests.api.conftest import serving

GOOD = {
    "email": "owner@example.com",
    "password": "a-long-secret",
    "passwordConfirm": "a-long-secret",
}


def test_the_link_creates_the_first_superuser_once(tmp_path: Path, fresh_db_url: str) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            token = await app.installer.issue()
            assert token
            assert (
                await client.post("/api/installer/check", json={"token": token})
            ).status_code == 204
            # only the hash is stored
            async with app.store.read() as conn:
                stored = await system.get_param(conn, INSTALLER_KEY)
            assert token not in str(stored)

            made = await client.post("/api/installer", json={"token": token, **GOOD})
            assert made.status_code == 204, made.text
            signed = await client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": GOOD["email"], "password": GOOD["password"]},
            )
            assert signed.status_code == 200
            # the link is spent: a second use and a check are refused, and no link is issued
            again = await client.post(
                "/api/installer", json={"token": token, **GOOD, "email": "second@example.com"}
            )
            assert again.status_code == 400
            assert "invalid or has expired" in again.json()["message"]
            assert (
                await client.post("/api/installer/check", json={"token": token})
            ).status_code == 400
            assert await app.installer.issue() is None
            assert await app.superusers.count() == 1

    asyncio.run(main())


def test_two_browsers_using_the_link_at_once_create_one_superuser(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            token = await app.installer.issue()
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/api/installer",
                        json={"token": token, **GOOD, "email": f"owner{i}@example.com"},
                    )
                    for i in range(6)
                )
            )
            assert sorted(a.status_code for a in answers) == [204] + [400] * 5
            assert await app.superusers.count() == 1

    asyncio.run(main())


def test_bad_input_is_refused_with_field_errors_and_changes_nothing(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            token = await app.installer.issue()
            cases = [
                ({"token": token, "email": "nope", "password": "short", "passwordConfirm": "x"},
                 {"email": "validation_is_email", "password": "validation_length_out_of_range",
                  "passwordConfirm": "validation_values_mismatch"}),
                ({"token": token}, {"email": "validation_required", "password": "validation_required"}),
                ({"token": token, "email": 5, "password": ["a"], "passwordConfirm": None},
                 {"email": "validation_required", "password": "validation_required"}),
            ]  # fmt: skip
            for body, codes in cases:
                answer = await client.post("/api/installer", json=body)
                assert answer.status_code == 400, body
                data = answer.json()["data"]
                assert {k: v["code"] for k, v in data.items() if k in codes} == codes, data
            for token_value in ("", "forged", 12, None, "x" * 5000):
                answer = await client.post("/api/installer", json={**GOOD, "token": token_value})
                assert answer.status_code == 400
            broken = await client.post(
                "/api/installer", content=b"{not json", headers={"content-type": "application/json"}
            )
            assert broken.status_code == 400
            huge = await client.post(
                "/api/installer", content=b'{"a":"' + b"x" * 100_000 + b'"}',
                headers={"content-type": "application/json"},
            )  # fmt: skip
            assert huge.status_code in (400, 413)
            assert await app.superusers.count() == 0
            # the good link still works after all that
            assert (
                await client.post("/api/installer", json={"token": token, **GOOD})
            ).status_code == 204

    asyncio.run(main())


def test_an_expired_link_is_refused(tmp_path: Path, fresh_db_url: str) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            token = await app.installer.issue()
            async with app.store.transaction() as conn:
                held = await system.get_param(conn, INSTALLER_KEY)
                for entry in held:
                    entry["expires"] = 1.0
                await system.set_param(conn, INSTALLER_KEY, held, "2020-01-01 00:00:00.000Z")
            answer = await client.post("/api/installer", json={"token": token, **GOOD})
            assert answer.status_code == 400
            assert await app.superusers.count() == 0

    asyncio.run(main())
