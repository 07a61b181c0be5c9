"""Single-use proofs are used once, even by requests that arrive together.

An OTP, an MFA session, and the password-reset, email-change and verification
tokens each let one request through. Here ``CLIENTS`` requests present the same
one at once (asyncio tasks through the in-process app), on SQLite and on
PostgreSQL, and exactly one of them may succeed. The proofs are made through
the services, so no mail is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from keelbase import App, RecordEvent
from keelbase.services.auth import refs as auth_refs
from keelbase.services.auth.mail_flows import EMAIL_CHANGE, PASSWORD_RESET, VERIFICATION
from tests.api.conftest import PASSWORD, serving

CLIENTS = 8  # under the sign-in guard's 10 attempts per identity
EMAIL = "ann@example.com"
USERS = "/api/collections/users"


async def _user(app: App, client: httpx.AsyncClient) -> Any:
    created = await client.post(
        USERS + "/records",
        json={"email": EMAIL, "password": PASSWORD, "passwordConfirm": PASSWORD},
    )
    assert created.status_code == 200, created.text
    record = await app.records.find_by_id(app.records.collection("users"), created.json()["id"])
    assert record is not None
    return record


def _slow_deletes(app: App, collection: str) -> None:
    """A delete hook that keeps the claim's transaction open a while, as a slow user
    hook would: the other requests all arrive while the first claim is not committed."""

    @app.on_record_delete(collection)
    async def slow(e: RecordEvent) -> None:
        await e.next()
        await asyncio.sleep(0.3)


async def _at_once(requests: list[Awaitable[httpx.Response]]) -> list[int]:
    return sorted(response.status_code for response in await asyncio.gather(*requests))


def _run(
    tmp_path: Path, db_url: str, body: Callable[[App, httpx.AsyncClient], Awaitable[None]]
) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", db_url) as (app, client):
            await body(app, client)

    asyncio.run(main())


def test_an_otp_signs_in_once(tmp_path: Path, fresh_db_url: str) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        await app.collections.update("users", {"otp": {"enabled": True}})
        _slow_deletes(app, auth_refs.OTPS)
        user = await _user(app, client)
        otp = auth_refs.new_ref_record(app.records, auth_refs.OTPS, user)
        await app.records.insert_trusted(otp, plain_password="123456")
        sign_in = {"otpId": otp.id, "password": "123456"}
        statuses = await _at_once(
            [client.post(USERS + "/auth-with-otp", json=sign_in) for _ in range(CLIENTS)]
        )
        assert statuses == [200] + [400] * (CLIENTS - 1)

    _run(tmp_path, fresh_db_url, body)


def test_an_mfa_session_completes_once(tmp_path: Path, fresh_db_url: str) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        await app.collections.update("users", {"mfa": {"enabled": True}, "otp": {"enabled": True}})
        _slow_deletes(app, auth_refs.MFAS)
        user = await _user(app, client)
        mfa = auth_refs.new_ref_record(app.records, auth_refs.MFAS, user, method="otp")
        await app.records.insert_trusted(mfa)
        sign_in = {"identity": EMAIL, "password": PASSWORD, "mfaId": mfa.id}
        statuses = await _at_once(
            [client.post(USERS + "/auth-with-password", json=sign_in) for _ in range(CLIENTS)]
        )
        assert statuses == [200] + [400] * (CLIENTS - 1)

    _run(tmp_path, fresh_db_url, body)


def test_a_password_reset_token_sets_one_password(tmp_path: Path, fresh_db_url: str) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        user = await _user(app, client)
        token = app.auth_mail.issue(user, PASSWORD_RESET)
        answers = await asyncio.gather(
            *(
                client.post(
                    USERS + "/confirm-password-reset",
                    json={
                        "token": token,
                        "password": f"New-pass-{i}",
                        "passwordConfirm": f"New-pass-{i}",
                    },
                )
                for i in range(CLIENTS)
            )
        )
        won = [i for i, answer in enumerate(answers) if answer.status_code == 204]
        assert sorted(a.status_code for a in answers) == [204] + [400] * (CLIENTS - 1)
        # The password that was answered 204 is the one that is set.
        signed = await client.post(
            USERS + "/auth-with-password",
            json={"identity": EMAIL, "password": f"New-pass-{won[0]}"},
        )
        assert signed.status_code == 200, signed.text

    _run(tmp_path, fresh_db_url, body)


def test_an_email_change_token_is_used_once(tmp_path: Path, fresh_db_url: str) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        user = await _user(app, client)
        token = app.auth_mail.issue(user, EMAIL_CHANGE, {"newEmail": "new@example.com"})
        confirm = {"token": token, "password": PASSWORD}
        statuses = await _at_once(
            [client.post(USERS + "/confirm-email-change", json=confirm) for _ in range(CLIENTS)]
        )
        assert statuses == [204] + [400] * (CLIENTS - 1)

    _run(tmp_path, fresh_db_url, body)


def test_a_verification_that_rotates_the_token_key_is_used_once(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """Without password sign-in, verifying also sets a random password and a new tokenKey
    (as PocketBase): the token is then spent."""

    async def body(app: App, client: httpx.AsyncClient) -> None:
        user = await _user(app, client)
        await app.collections.update("users", {"passwordAuth": {"enabled": False}})
        token = app.auth_mail.issue(user, VERIFICATION)
        statuses = await _at_once(
            [
                client.post(USERS + "/confirm-verification", json={"token": token})
                for _ in range(CLIENTS)
            ]
        )
        assert statuses == [204] + [400] * (CLIENTS - 1)

    _run(tmp_path, fresh_db_url, body)
