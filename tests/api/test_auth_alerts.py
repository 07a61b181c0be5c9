"""Login alerts through the HTTP API: origins in _authOrigins, mail (aiosmtpd) on a new one."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import keelbase.services.mail.sender as mail_service
from keelbase import AuthEvent, MailEvent
from tests.api.conftest import ADMIN, PASSWORD, serving, use_inbox
from tests.api.scenario import World
from tests.api.test_auth_otp import new_user
from tests.api.worlds import Template
from tests.conftest import free_port
from tests.mail_catcher import MailCatcher

ALERT = "Login from a new location"


@pytest.fixture(scope="module")
def template(
    base: Template, tmp_path_factory: pytest.TempPathFactory, inbox: MailCatcher
) -> Iterator[Template]:
    """Mail goes to ``inbox``."""
    data_dir = tmp_path_factory.mktemp("alerts") / "kb_data"
    with base.extend(data_dir, use_inbox(inbox)) as extended:
        yield extended


def sign_in(world: World, email: str, agent: str, **headers: str) -> Any:
    response = world.client.post(
        "/api/collections/users/auth-with-password",
        json={"identity": email, "password": PASSWORD},
        headers={"User-Agent": agent, **headers},
    )
    assert response.status_code == 200, response.text
    return response.json()


def origins(world: World, record_id: str) -> list[dict[str, Any]]:
    listed = world.request(
        "GET",
        f"/api/collections/_authOrigins/records?perPage=100&filter=recordRef='{record_id}'",
        "superuser",
    )
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def test_first_sign_in_is_quiet_then_a_new_origin_mails(world: World, inbox: MailCatcher) -> None:
    user_id = new_user(world, "alert1@example.com", name="Al")
    before = len(inbox.mails)
    sign_in(world, "alert1@example.com", "Browser/A")
    inbox.quiet(before)  # the first sign-in has nothing to compare with
    assert [o["fingerprint"] for o in origins(world, user_id)] == [
        hashlib.md5(b"testclientBrowser/A").hexdigest()
    ]
    sign_in(world, "alert1@example.com", "Browser/A")
    inbox.quiet(before)  # a known origin

    sign_in(world, "alert1@example.com", "Browser/B <x>")
    mail = inbox.wait(before + 1)[before]
    assert (mail.to, mail.subject) == ("alert1@example.com", ALERT)
    assert "from a new location" in mail.html
    assert " - testclient Browser/B &lt;x&gt;</em>" in mail.html  # {ALERT_INFO}, escaped
    assert len(origins(world, user_id)) == 2
    sign_in(world, "alert1@example.com", "Browser/B <x>")
    inbox.quiet(before + 1)


def test_at_most_five_origins_are_kept(world: World) -> None:
    user_id = new_user(world, "alert2@example.com")
    for n in range(7):
        sign_in(world, "alert2@example.com", f"Agent/{n}")
    kept = origins(world, user_id)
    assert len(kept) == 5
    newest = hashlib.md5(b"testclientAgent/6").hexdigest()
    oldest = hashlib.md5(b"testclientAgent/0").hexdigest()
    assert newest in {o["fingerprint"] for o in kept}
    assert oldest not in {o["fingerprint"] for o in kept}


def test_disabled_alerts_record_nothing(world: World, inbox: MailCatcher) -> None:
    user_id = new_user(world, "alert3@example.com")
    off = world.request(
        "PATCH", "/api/collections/users", "superuser", json={"authAlert": {"enabled": False}}
    )
    assert off.status_code == 200, off.text
    try:
        before = len(inbox.mails)
        sign_in(world, "alert3@example.com", "One")
        sign_in(world, "alert3@example.com", "Two")
        inbox.quiet(before)
        assert origins(world, user_id) == []
    finally:
        world.request(
            "PATCH", "/api/collections/users", "superuser", json={"authAlert": {"enabled": True}}
        )


def test_refresh_is_not_a_sign_in(world: World, inbox: MailCatcher) -> None:
    user_id = new_user(world, "alert4@example.com")
    token = sign_in(world, "alert4@example.com", "First")["token"]
    before = len(inbox.mails)
    refreshed = world.client.post(
        "/api/collections/users/auth-refresh",
        headers={"Authorization": token, "User-Agent": "Elsewhere"},
    )
    assert refreshed.status_code == 200
    inbox.quiet(before)
    assert len(origins(world, user_id)) == 1


def test_trusted_proxy_header_gives_the_ip(world: World, inbox: MailCatcher) -> None:
    user_id = new_user(world, "alert5@example.com")
    before = len(inbox.mails)
    proxy = {"trustedProxy": {"headers": ["X-Forwarded-For"], "useLeftmostIP": True}}
    assert world.request("PATCH", "/api/settings", "superuser", json=proxy).status_code == 200
    try:
        sign_in(world, "alert5@example.com", "UA", **{"X-Forwarded-For": "203.0.113.9, 10.0.0.1"})
    finally:
        world.request("PATCH", "/api/settings", "superuser", json={"trustedProxy": {"headers": []}})
    # without trusted headers the header is ignored
    sign_in(world, "alert5@example.com", "UA", **{"X-Forwarded-For": "198.51.100.1"})
    assert {o["fingerprint"] for o in origins(world, user_id)} == {
        hashlib.md5(b"203.0.113.9UA").hexdigest(),
        hashlib.md5(b"testclientUA").hexdigest(),
    }
    assert inbox.wait(before + 1)[before].to == "alert5@example.com"  # the second was new


def test_superusers_get_alerts_too(world: World, inbox: MailCatcher) -> None:
    before = len(inbox.mails)
    response = world.client.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": ADMIN[0], "password": ADMIN[1]},
        headers={"User-Agent": "Admin laptop"},
    )
    assert response.status_code == 200
    mail = inbox.wait(before + 1)[before]
    assert (mail.to, mail.subject) == (ADMIN[0], ALERT)


def test_a_broken_mail_server_never_fails_the_sign_in(
    world: World, inbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail_service, "RETRY_DELAYS", (0.01,))
    new_user(world, "alert6@example.com")
    sign_in(world, "alert6@example.com", "Home")
    dead = {"smtp": {"enabled": True, "host": "127.0.0.1", "port": free_port()}}
    assert world.request("PATCH", "/api/settings", "superuser", json=dead).status_code == 200
    try:
        sign_in(world, "alert6@example.com", "Cafe")
    finally:
        world.request("PATCH", "/api/settings", "superuser", json=inbox.smtp_settings())


def test_deleting_an_account_drops_its_origins(world: World) -> None:
    user_id = new_user(world, "alert7@example.com")
    token = sign_in(world, "alert7@example.com", "Once")["token"]
    assert len(origins(world, user_id)) == 1
    deleted = world.client.delete(
        f"/api/collections/users/records/{user_id}", headers={"Authorization": token}
    )
    assert deleted.status_code == 204, deleted.text
    assert origins(world, user_id) == []


def test_sign_ins_from_one_new_place_at_once_alert_once(tmp_path: Path, fresh_db_url: str) -> None:
    """Eight sign-ins from one new place at the same moment: one origin, one mail."""
    clients = 8  # under the sign-in guard's 10 attempts per identity

    async def main() -> list[str]:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            await app.collections.update("users", {"authAlert": {"enabled": True}})
            sent: list[str] = []
            arrived: list[str] = []
            all_in = asyncio.Event()

            @app.on_mail_send()
            async def catch(e: MailEvent) -> None:
                sent.append(e.subject)  # and not e.next(): no SMTP here

            @app.on_record_auth("users")
            async def together(e: AuthEvent) -> None:
                """The sign-ins from the new place pass their password check at different
                moments (hashing takes turns on the CPUs); here they go on together."""
                if e.info.headers.get("user_agent") == "away":
                    arrived.append(e.record.id)
                    if len(arrived) == clients:
                        all_in.set()
                    await all_in.wait()
                await e.next()

            email = "ann@example.com"
            created = await client.post(
                "/api/collections/users/records",
                json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD},
            )
            assert created.status_code == 200, created.text
            body = {"identity": email, "password": PASSWORD}
            path = "/api/collections/users/auth-with-password"
            first = await client.post(path, json=body, headers={"User-Agent": "home"})
            assert first.status_code == 200, first.text
            answers = await asyncio.gather(
                *(
                    client.post(path, json=body, headers={"User-Agent": "away"})
                    for _ in range(clients)
                )
            )
            assert [a.status_code for a in answers] == [200] * clients
            await asyncio.sleep(0.5)  # the alert goes out in the background
            return sent

    assert asyncio.run(main()) == [ALERT]
