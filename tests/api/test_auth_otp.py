"""One-time passwords through the HTTP API, with the codes read from real mail (aiosmtpd)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import keelbase.services.mail.sender as mail_service
from keelbase import MailEvent, RecordEvent
from keelbase.core.auth import mail_templates as tpl
from keelbase.core.request_info import RequestInfo
from keelbase.services.auth import refs as auth_refs
from tests.api.conftest import PASSWORD, serving, use_inbox
from tests.api.scenario import Scenario, World, params, run
from tests.api.worlds import Template
from tests.conftest import free_port
from tests.mail_catcher import MailCatcher

REQUEST = "/api/collections/users/request-otp"
AUTH = "/api/collections/users/auth-with-otp"
INVALID = "Invalid or expired OTP."
DISABLED = "The collection is not configured to allow OTP authentication."
LOAD = "An error occurred while loading the submitted data."
VALIDATE = "An error occurred while validating the submitted data."


@pytest.fixture(scope="module")
def template(
    base: Template, tmp_path_factory: pytest.TempPathFactory, inbox: MailCatcher
) -> Iterator[Template]:
    """Mail goes to ``inbox``; users may sign in with an OTP."""

    def enable_otp(world: World) -> None:
        enabled = world.request(
            "PATCH",
            "/api/collections/users",
            "superuser",
            json={
                "otp": {"enabled": True, "length": 6, "duration": 120},
                "authAlert": {"enabled": False},
            },
        )
        assert enabled.status_code == 200, enabled.text

    data_dir = tmp_path_factory.mktemp("otp") / "kb_data"
    with base.extend(data_dir, use_inbox(inbox), enable_otp) as extended:
        yield extended


def app_of(world: World) -> Any:
    return world.client.app.state.keelbase  # type: ignore[attr-defined]


def otps(world: World) -> list[dict[str, Any]]:
    listed = world.request("GET", "/api/collections/_otps/records?perPage=100", "superuser")
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def stored_otp(world: World, otp_id: str) -> dict[str, Any]:
    """The stored OTP, once its mail went out (``sentTo`` is noted just after sending)."""
    for _ in range(250):
        found = next(o for o in otps(world) if o["id"] == otp_id)
        if found["sentTo"]:
            break
        time.sleep(0.02)
    return found


def request_code(world: World, inbox: MailCatcher, email: str) -> tuple[str, str]:
    """Ask for an OTP and read the code from the mail it sends: (otpId, code)."""
    before = len(inbox.mails)
    response = world.client.post(REQUEST, json={"email": email})
    assert response.status_code == 200, response.text
    mail = inbox.wait(before + 1)[before]
    assert mail.to == email
    return response.json()["otpId"], inbox.code(mail)


def new_user(world: World, email: str, name: str = "") -> str:
    created = world.request(
        "POST",
        "/api/collections/users/records",
        json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD, "name": name},
    )
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def age(
    world: World, table: str, record_id: str, created: str = "2020-01-01 00:00:00.000Z"
) -> None:
    """Move a system record's creation into the past (what waiting would do)."""
    app = app_of(world)

    async def update() -> None:
        async with app.store.transaction() as conn:
            await conn.execute(
                f'UPDATE "{table}" SET "created" = :c WHERE "id" = :id',
                {"c": created, "id": record_id},
            )

    world.client.portal.call(update)  # type: ignore[union-attr]


# fmt: off
SCENARIOS = [
    Scenario("request: missing email", "POST", REQUEST, body={}, status=400,
             contains={"message": VALIDATE, "data": {"email": {"code": "validation_required"}}}),
    Scenario("request: not an email", "POST", REQUEST, body={"email": "bad"}, status=400,
             contains={"data": {"email": {"code": "validation_is_email",
                                          "message": "Must be a valid email address."}}}),
    Scenario("request: email too long", "POST", REQUEST, body={"email": "x" * 300 + "@example.com"},
             status=400, contains={"data": {"email": {"code": "validation_length_out_of_range",
                                                      "params": {"max": 255, "min": 1}}}}),
    Scenario("request: email of the wrong type", "POST", REQUEST, body={"email": 123}, status=400,
             contains={"message": LOAD, "data": {}}),
    Scenario("request: body is a list", "POST", REQUEST, body=[1, 2], status=400,
             contains={"message": LOAD}),
    Scenario("request: malformed JSON", "POST", REQUEST, raw=b'{"email":', status=400,
             contains={"message": LOAD}),
    Scenario("request: OTP disabled", "POST", "/api/collections/_superusers/request-otp",
             raw=b"{bad", status=403, contains={"message": DISABLED, "data": {}}),
    Scenario("request: unknown collection", "POST", "/api/collections/nope/request-otp",
             body={"email": "a@example.com"}, status=404,
             contains={"message": "Missing or invalid collection context."}),
    Scenario("request: not an auth collection", "POST", "/api/collections/_otps/request-otp",
             body={"email": "a@example.com"}, status=404,
             contains={"message": "Missing or invalid auth collection context."}),
    Scenario("auth: missing fields", "POST", AUTH, body={}, status=400,
             contains={"message": VALIDATE, "data": {"otpId": {"code": "validation_required"},
                                                     "password": {"code": "validation_required"}}}),
    Scenario("auth: wrong types", "POST", AUTH, body={"otpId": 123, "password": "1"}, status=400,
             contains={"message": LOAD, "data": {}}),
    Scenario("auth: code too long", "POST", AUTH, body={"otpId": "abc", "password": "1" * 72},
             status=400, contains={"data": {"password": {"code": "validation_length_out_of_range",
                                                         "params": {"max": 71, "min": 1}}}}),
    Scenario("auth: id too long", "POST", AUTH, body={"otpId": "a" * 256, "password": "1"},
             status=400, contains={"data": {"otpId": {"code": "validation_length_out_of_range"}}}),
    Scenario("auth: unknown id", "POST", AUTH, body={"otpId": "nonexistent1234", "password": "123456"},
             status=400, contains={"message": INVALID, "data": {}}),
    Scenario("auth: OTP disabled", "POST", "/api/collections/_superusers/auth-with-otp",
             body={"otpId": "x", "password": "y"}, status=403, contains={"message": DISABLED}),
    Scenario("auth-methods shows OTP", "GET", "/api/collections/users/auth-methods",
             contains={"otp": {"enabled": True, "duration": 120}, "mfa": {"enabled": False, "duration": 0}}),
]
# fmt: on


@params(SCENARIOS)
def test_otp_input(world: World, scenario: Scenario) -> None:
    run(world, scenario)


def test_request_then_sign_in_with_the_mailed_code(world: World, inbox: MailCatcher) -> None:
    user_id = new_user(world, "otp1@example.com")
    otp_id, code = request_code(world, inbox, "otp1@example.com")
    mail = inbox.mails[-1]
    assert mail.subject == "OTP for Acme"
    assert len(code) == 6 and code.isdigit()
    stored = stored_otp(world, otp_id)
    assert stored["recordRef"] == user_id and stored["collectionRef"] == "_pb_users_auth_"
    assert not stored.get("password")  # hidden: only the hash is kept, never shown
    assert stored["sentTo"] == "otp1@example.com"

    signed = world.client.post(AUTH, json={"otpId": otp_id, "password": code})
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert set(body) == {"record", "token"}
    assert body["record"]["id"] == user_id
    assert body["record"]["verified"] is True  # the code reached this email: it is verified
    me = world.client.get(
        f"/api/collections/users/records/{user_id}", headers={"Authorization": body["token"]}
    )
    assert me.status_code == 200 and me.json()["verified"] is True

    # used once: gone, and the same code cannot sign in again
    assert all(o["id"] != otp_id for o in otps(world))
    again = world.client.post(AUTH, json={"otpId": otp_id, "password": code})
    assert again.status_code == 400 and again.json()["message"] == INVALID


def test_form_body_and_expand_on_the_answer(world: World, inbox: MailCatcher) -> None:
    new_user(world, "otpform@example.com")
    before = len(inbox.mails)
    response = world.client.post(REQUEST, data={"email": "otpform@example.com"})
    assert response.status_code == 200, response.text
    code = inbox.code(inbox.wait(before + 1)[before])
    wrong = "123456" if code != "123456" else "234567"  # looks like a number in a form
    refused = world.client.post(AUTH, data={"otpId": response.json()["otpId"], "password": wrong})
    assert refused.status_code == 400 and refused.json()["message"] == INVALID
    signed = world.client.post(
        AUTH + "?fields=token", data={"otpId": response.json()["otpId"], "password": code}
    )
    assert signed.status_code == 200, signed.text
    assert set(signed.json()) == {"token"}


def test_unknown_email_is_not_revealed(world: World, inbox: MailCatcher) -> None:
    before = len(inbox.mails)
    count = len(otps(world))
    response = world.client.post(REQUEST, json={"email": "nobody@example.com"})
    assert response.status_code == 200
    assert set(response.json()) == {"otpId"}
    assert len(response.json()["otpId"]) == 15
    inbox.quiet(before)
    assert len(otps(world)) == count  # nothing stored
    signed = world.client.post(AUTH, json={"otpId": response.json()["otpId"], "password": "123456"})
    assert signed.status_code == 400 and signed.json()["message"] == INVALID


def test_wrong_codes_are_limited(world: World, inbox: MailCatcher) -> None:
    new_user(world, "otp2@example.com")
    otp_id, code = request_code(world, inbox, "otp2@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        response = world.client.post(AUTH, json={"otpId": otp_id, "password": wrong})
        assert response.status_code == 400 and response.json()["message"] == INVALID
    assert all(o["id"] != otp_id for o in otps(world))  # the fifth wrong code deleted it
    late = world.client.post(AUTH, json={"otpId": otp_id, "password": code})
    assert late.status_code == 429, late.text
    assert late.json() == {
        "data": {},
        "message": "Too many attempts, please try again later with a new OTP.",
        "status": 429,
    }
    # a new OTP works again
    otp_id, code = request_code(world, inbox, "otp2@example.com")
    assert world.client.post(AUTH, json={"otpId": otp_id, "password": code}).status_code == 200


def test_ids_of_unknown_addresses_answer_wrong_codes_like_real_ones(
    world: World, inbox: MailCatcher
) -> None:
    new_user(world, "otp-real@example.com")
    real_id, code = request_code(world, inbox, "otp-real@example.com")
    fake = world.client.post(REQUEST, json={"email": "otp-nobody@example.com"})
    fake_id = fake.json()["otpId"]
    wrong = "000000" if code != "000000" else "111111"
    for otp_id in (real_id, fake_id):
        answers = [
            world.client.post(AUTH, json={"otpId": otp_id, "password": wrong}).status_code
            for _ in range(6)
        ]
        assert answers == [400] * 5 + [429], otp_id


def test_requests_are_limited_per_address_known_or_not(world: World, inbox: MailCatcher) -> None:
    new_user(world, "otp-many@example.com")
    for email in ("otp-many@example.com", "otp-many-nobody@example.com"):
        answers = [world.client.post(REQUEST, json={"email": email}).status_code for _ in range(6)]
        assert answers == [200] * 5 + [429], email
        assert world.client.post(REQUEST, json={"email": email.upper()}).status_code == 429
    assert world.client.post(REQUEST, json={"email": "otp-other@example.com"}).status_code == 200


def test_a_few_wrong_codes_then_the_right_one(world: World, inbox: MailCatcher) -> None:
    new_user(world, "otp3@example.com")
    otp_id, code = request_code(world, inbox, "otp3@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        assert world.client.post(AUTH, json={"otpId": otp_id, "password": wrong}).status_code == 400
    assert world.client.post(AUTH, json={"otpId": otp_id, "password": code}).status_code == 200


def test_expired_otp_fails_and_is_removed(world: World, inbox: MailCatcher) -> None:
    new_user(world, "otp4@example.com")
    otp_id, code = request_code(world, inbox, "otp4@example.com")
    age(world, "_otps", otp_id)
    response = world.client.post(AUTH, json={"otpId": otp_id, "password": code})
    assert response.status_code == 400 and response.json()["message"] == INVALID
    assert all(o["id"] != otp_id for o in otps(world))


def test_otp_of_another_collection_is_refused(world: World, inbox: MailCatcher) -> None:
    new_user(world, "otp5@example.com")
    otp_id, code = request_code(world, inbox, "otp5@example.com")
    enabled = world.request(
        "PATCH", "/api/collections/_superusers", "superuser", json={"otp": {"enabled": True}}
    )
    assert enabled.status_code == 200, enabled.text
    try:
        other = world.client.post(
            "/api/collections/_superusers/auth-with-otp", json={"otpId": otp_id, "password": code}
        )
        assert other.status_code == 400 and other.json()["message"] == INVALID
    finally:
        world.request(
            "PATCH", "/api/collections/_superusers", "superuser", json={"otp": {"enabled": False}}
        )
    assert world.client.post(AUTH, json={"otpId": otp_id, "password": code}).status_code == 200


def test_template_placeholders_and_escaping(world: World, inbox: MailCatcher) -> None:
    template = {
        "subject": "Code {OTP} for {RECORD:name}",
        "body": "<p>{APP_NAME} {APP_URL} {RECORD:name} {RECORD:verified} {RECORD:tokenKey} "
        "<strong>{OTP}</strong> {OTP_ID}</p>",
    }
    collection = world.request(
        "PATCH", "/api/collections/users", "superuser", json={"otp": {"emailTemplate": template}}
    )
    assert collection.status_code == 200, collection.text
    try:
        new_user(world, "otp6@example.com", name="<b>Ann</b>")
        otp_id, code = request_code(world, inbox, "otp6@example.com")
        mail = inbox.mails[-1]
        assert mail.subject == f"Code {code} for &lt;b&gt;Ann&lt;/b&gt;"
        assert (
            "Acme http://localhost:8090 &lt;b&gt;Ann&lt;/b&gt; false {RECORD:tokenKey}" in mail.html
        )
        assert otp_id in mail.html
    finally:
        world.request(
            "PATCH",
            "/api/collections/users",
            "superuser",
            json={"otp": {"emailTemplate": {"subject": tpl.OTP_SUBJECT, "body": tpl.OTP_BODY}}},
        )


def test_mail_hooks_apply_and_decide_what_is_verified(world: World, inbox: MailCatcher) -> None:
    """A mail_send hook may redirect the mail: then the code proves another address."""
    app = app_of(world)
    user_id = new_user(world, "otp7@example.com")

    async def redirect(e: MailEvent) -> None:
        if e.subject.startswith("OTP"):
            e.to = ["elsewhere@example.com"]
        await e.next()

    binding = app.hooks.mail_send.bind(redirect)
    try:
        before = len(inbox.mails)
        response = world.client.post(REQUEST, json={"email": "otp7@example.com"})
        mail = inbox.wait(before + 1)[before]
        assert mail.to == "elsewhere@example.com"
        otp_id = response.json()["otpId"]
        assert stored_otp(world, otp_id)["sentTo"] == "elsewhere@example.com"
        signed = world.client.post(AUTH, json={"otpId": otp_id, "password": inbox.code(mail)})
        assert signed.status_code == 200, signed.text
        assert signed.json()["record"]["id"] == user_id
        assert signed.json()["record"]["verified"] is False
    finally:
        app.hooks.mail_send.unbind(binding)


def test_unsent_otp_is_deleted(
    world: World, inbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_user(world, "otp8@example.com")
    monkeypatch.setattr(mail_service, "RETRY_DELAYS", (0.01,))
    dead = {"smtp": {"enabled": True, "host": "127.0.0.1", "port": free_port()}}
    assert world.request("PATCH", "/api/settings", "superuser", json=dead).status_code == 200
    try:
        response = world.client.post(REQUEST, json={"email": "otp8@example.com"})
        assert response.status_code == 200
        otp_id = response.json()["otpId"]
        for _ in range(200):
            if all(o["id"] != otp_id for o in otps(world)):
                break
            time.sleep(0.02)
        assert all(o["id"] != otp_id for o in otps(world))
    finally:
        world.request("PATCH", "/api/settings", "superuser", json=inbox.smtp_settings())


def test_an_email_changed_during_the_sign_in_is_not_verified(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """The OTP proves the address it was sent to; if the account's email changes while the
    sign-in is under way, the new address is not marked verified."""
    email = "ann@example.com"

    async def main() -> Any:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            await app.collections.update("users", {"otp": {"enabled": True}})
            users = app.records.collection("users")
            created = await client.post(
                "/api/collections/users/records",
                json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD},
            )
            assert created.status_code == 200, created.text
            user = await app.records.find_by_id(users, created.json()["id"])
            assert user is not None
            otp = auth_refs.new_ref_record(app.records, auth_refs.OTPS, user, sentTo=email)
            await app.records.insert_trusted(otp, plain_password="123456")

            @app.on_record_delete(auth_refs.OTPS)
            async def change_email_meanwhile(e: RecordEvent) -> None:
                await e.next()
                await app.records.update_record(
                    users, user.id, {"email": "other@example.com"}, RequestInfo(system=True)
                )

            signed = await client.post(AUTH, json={"otpId": otp.id, "password": "123456"})
            assert signed.status_code == 200, signed.text
            return await app.records.find_by_id(users, user.id)

    stored = asyncio.run(main())
    assert (stored.get("email"), stored.get("verified")) == ("other@example.com", False)
