"""Verification, password reset, email change, impersonation and the test email, through
the HTTP API, with a real SMTP server catching the mails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from keelbase import App, MailEvent
from keelbase.core.records.record import Record
from keelbase.services.auth import tokens
from tests.api.conftest import PASSWORD
from tests.api.scenario import Scenario, World, params, run
from tests.api.worlds import Template
from tests.mail_catcher import MailCatcher, html_of, token_in

USERS = "/api/collections/users"
LOAD = "An error occurred while loading the submitted data."
VALIDATE = "An error occurred while validating the submitted data."


@pytest.fixture(scope="module")
def catcher(store: str) -> Iterator[MailCatcher]:
    """One catcher per store, so that one run's mail never counts in the other's."""
    smtp = MailCatcher().start()
    yield smtp
    smtp.stop()


@pytest.fixture(scope="module")
def template(
    base: Template, tmp_path_factory: pytest.TempPathFactory, catcher: MailCatcher
) -> Iterator[Template]:
    """Mail goes to ``catcher``; a second auth collection, ``members``, is open to sign-ups."""

    def setup(w: World) -> None:
        settings = {
            "smtp": {"enabled": True, "host": "127.0.0.1", "port": catcher.port},
            "meta": {"appName": "Acme", "appURL": "https://acme.test"},
        }
        assert w.request("PATCH", "/api/settings", "superuser", json=settings).status_code == 200
        members = w.request(
            "POST",
            "/api/collections",
            "superuser",
            json={"name": "members", "type": "auth", "createRule": ""},
        )
        assert members.status_code == 200, members.text

    with base.extend(tmp_path_factory.mktemp("mail") / "kb_data", setup) as extended:
        yield extended


def app_of(world: World) -> App:
    app: App = world.client.app.state.keelbase  # type: ignore[attr-defined]
    return app


def claims(token: str) -> dict[str, Any]:
    out: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return out


def sign_up(world: World, name: str, collection: str = "users") -> dict[str, str]:
    email = f"{name}@example.com"
    created = world.client.post(
        f"/api/collections/{collection}/records",
        json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD, "name": name},
    )
    assert created.status_code == 200, created.text
    signed = world.client.post(
        f"/api/collections/{collection}/auth-with-password",
        json={"identity": email, "password": PASSWORD},
    )
    assert signed.status_code == 200, signed.text
    return {"id": created.json()["id"], "email": email, "token": signed.json()["token"]}


def view(world: World, user: dict[str, str], token: str | None = None) -> Any:
    headers = {"Authorization": token or world.tokens["superuser"]}
    return world.client.get(f"{USERS}/records/{user['id']}", headers=headers)


def post(world: World, path: str, body: Any, token: str = "") -> Any:
    headers = {"Authorization": token} if token else {}
    return world.client.post(f"{USERS}/{path}", json=body, headers=headers)


def find_record(world: World, record_id: str, collection: str = "users") -> Record:
    app = app_of(world)

    async def load() -> Record | None:
        return await app.records.find_by_id(app.records.schema.get(collection), record_id)  # type: ignore[arg-type]

    found = world.client.portal.call(load)  # type: ignore[union-attr]
    assert found is not None
    return found


def no_mail_to(catcher: MailCatcher, address: str, wait: float = 0.5) -> bool:
    time.sleep(wait)
    return not catcher.to(address)


def field_code(response: Any, name: str) -> str:
    assert response.status_code == 400, response.text
    code: str = response.json()["data"][name]["code"]
    return code


# Verification -----------------------------------------------------------------


def test_verification_end_to_end(world: World, catcher: MailCatcher) -> None:
    user = sign_up(world, "verify-me")
    assert view(world, user).json()["verified"] is False
    assert post(world, "request-verification", {"email": user["email"]}).status_code == 204
    mail = catcher.wait_for(user["email"])
    assert mail["Subject"] == "Verify your Acme email"
    assert str(mail["From"]) == "Support <support@example.com>"
    token = token_in(mail)
    assert f"https://acme.test/_/#/auth/confirm-verification/{token}" in html_of(mail)
    found = claims(token)
    assert set(found) == {"id", "type", "email", "collectionId", "exp"}
    assert found["type"] == "verification" and found["email"] == user["email"]
    assert found["id"] == user["id"] and found["collectionId"] == "_pb_users_auth_"
    assert abs(found["exp"] - time.time() - 86400) < 60

    assert post(world, "confirm-verification", {"token": token}).status_code == 204
    assert view(world, user).json()["verified"] is True
    # PocketBase: confirming again is fine, and the user's session lives on
    assert post(world, "confirm-verification", {"token": token}).status_code == 204
    assert view(world, user, user["token"]).status_code == 200
    # a verified record gets no new verification mail
    assert post(world, "request-verification", {"email": user["email"]}).status_code == 204
    time.sleep(0.5)
    assert len(catcher.to(user["email"])) == 1


def test_unknown_addresses_get_204_and_no_mail(world: World, catcher: MailCatcher) -> None:
    for path in ("request-verification", "request-password-reset"):
        address = f"nobody-{path}@example.com"
        assert post(world, path, {"email": address}).status_code == 204
        assert no_mail_to(catcher, address)
    # the lookup is exact, as PocketBase's
    user = sign_up(world, "exact-case")
    shouted = user["email"].upper()
    assert post(world, "request-password-reset", {"email": shouted}).status_code == 204
    assert no_mail_to(catcher, user["email"])


def test_requests_do_not_wait_for_the_mail_server(world: World, catcher: MailCatcher) -> None:
    user = sign_up(world, "slow-smtp")
    catcher.delay = 2.0
    try:
        started = time.monotonic()
        assert post(world, "request-password-reset", {"email": user["email"]}).status_code == 204
        assert time.monotonic() - started < 1.0, "the answer waited for the SMTP server"
        catcher.wait_for(user["email"])
    finally:
        catcher.delay = 0.0


def test_one_mail_per_flow_every_two_minutes(world: World, catcher: MailCatcher) -> None:
    user = sign_up(world, "resend")
    for _ in range(3):
        assert post(world, "request-verification", {"email": user["email"]}).status_code == 204
    catcher.wait_for(user["email"])
    time.sleep(0.5)
    assert len(catcher.to(user["email"])) == 1


# Password reset ---------------------------------------------------------------


def test_password_reset_end_to_end(world: World, catcher: MailCatcher) -> None:
    user = sign_up(world, "forgetful")
    assert post(world, "request-password-reset", {"email": user["email"]}).status_code == 204
    mail = catcher.wait_for(user["email"])
    assert mail["Subject"] == "Reset your Acme password"
    token = token_in(mail)
    found = claims(token)
    assert found["type"] == "passwordReset" and found["email"] == user["email"]
    assert abs(found["exp"] - time.time() - 1800) < 60

    new = "N3w-Passw0rd!"
    body = {"token": token, "password": new, "passwordConfirm": new}
    assert post(world, "confirm-password-reset", body).status_code == 204
    # every earlier session ends, the token cannot be used twice
    assert view(world, user, user["token"]).status_code == 404
    refresh = world.client.post(f"{USERS}/auth-refresh", headers={"Authorization": user["token"]})
    assert refresh.status_code == 401
    replay = post(world, "confirm-password-reset", {**body, "password": "x" * 10})
    assert field_code(replay, "token") == "validation_invalid_token"
    signed = world.client.post(
        f"{USERS}/auth-with-password", json={"identity": user["email"], "password": new}
    )
    assert signed.status_code == 200
    # the mail reached the address's owner: the address is now verified
    assert signed.json()["record"]["verified"] is True


def test_password_reset_checks_the_new_password(world: World, catcher: MailCatcher) -> None:
    user = sign_up(world, "picky")
    assert post(world, "request-password-reset", {"email": user["email"]}).status_code == 204
    token = token_in(catcher.wait_for(user["email"]))
    short = post(
        world, "confirm-password-reset", {"token": token, "password": "x", "passwordConfirm": "x"}
    )
    assert short.json()["data"]["password"] == {
        "code": "validation_length_out_of_range",
        "message": "The length must be between 8 and 255.",
        "params": {"max": 255, "min": 8},
    }
    mismatch = post(
        world,
        "confirm-password-reset",
        {"token": token, "password": "Passw0rd-1", "passwordConfirm": "Passw0rd-2"},
    )
    assert field_code(mismatch, "passwordConfirm") == "validation_values_mismatch"
    # the refused attempts did not spend the token
    ok = {"token": token, "password": "Passw0rd-1", "passwordConfirm": "Passw0rd-1"}
    assert post(world, "confirm-password-reset", ok).status_code == 204


# Email change -----------------------------------------------------------------


def test_email_change_end_to_end(world: World, catcher: MailCatcher) -> None:
    user = sign_up(world, "mover")
    new_email = "moved@example.com"
    assert post(world, "request-email-change", {"newEmail": new_email}).status_code == 401
    answer = post(world, "request-email-change", {"newEmail": new_email}, user["token"])
    assert answer.status_code == 204, answer.text
    mail = catcher.wait_for(new_email)
    assert mail["Subject"] == "Confirm your Acme new email address"
    assert not catcher.to(user["email"])
    token = token_in(mail)
    found = claims(token)
    assert found["type"] == "emailChange"
    assert found["email"] == user["email"] and found["newEmail"] == new_email

    wrong = post(world, "confirm-email-change", {"token": token, "password": "not-it"})
    assert field_code(wrong, "password") == "validation_invalid_password"
    assert (
        post(world, "confirm-email-change", {"token": token, "password": PASSWORD}).status_code
        == 204
    )
    record = view(world, user).json()
    assert record["email"] == new_email and record["verified"] is True
    # old sessions end (tokenKey rotated), and the token is spent
    assert view(world, user, user["token"]).status_code == 404
    replay = post(world, "confirm-email-change", {"token": token, "password": PASSWORD})
    assert field_code(replay, "token") == "validation_invalid_token"
    signed = world.client.post(
        f"{USERS}/auth-with-password", json={"identity": new_email, "password": PASSWORD}
    )
    assert signed.status_code == 200


def test_email_change_request_errors(world: World) -> None:
    user = sign_up(world, "changer")
    other = sign_up(world, "taken")
    cases = [
        ({}, "validation_required"),
        ({"newEmail": "not-an-email"}, "validation_is_email"),
        ({"newEmail": user["email"]}, "validation_not_in_invalid"),
        ({"newEmail": other["email"]}, "validation_invalid_new_email"),
    ]
    for body, code in cases:
        answer = post(world, "request-email-change", body, user["token"])
        assert field_code(answer, "newEmail") == code, body
    wrong_type = post(world, "request-email-change", {"newEmail": 5}, user["token"])
    assert wrong_type.status_code == 400 and wrong_type.json()["message"] == LOAD
    superuser = post(
        world, "request-email-change", {"newEmail": "x@example.com"}, world.tokens["superuser"]
    )
    assert superuser.status_code == 403


# Tokens that must be refused ----------------------------------------------------


def forge(record: Record, token_type: str, secret: str, **changes: Any) -> str:
    payload = {
        "id": record.id,
        "type": token_type,
        "collectionId": record.collection.id,
        "email": record.get("email"),
        "newEmail": "forged-new@example.com",
        "exp": int(time.time()) + 600,
        **changes,
    }
    return jwt.encode(payload, tokens.signing_key(record, secret), algorithm="HS256")


def test_bad_tokens_are_refused(world: World) -> None:
    user = sign_up(world, "target")
    record = find_record(world, user["id"])
    options = record.collection.auth
    assert options is not None
    secrets = {
        "verification": options.verificationToken.secret,
        "passwordReset": options.passwordResetToken.secret,
        "emailChange": options.emailChangeToken.secret,
    }
    paths = {
        "verification": ("confirm-verification", {}),
        "emailChange": ("confirm-email-change", {"password": PASSWORD}),
        "passwordReset": (
            "confirm-password-reset",
            {"password": "Passw0rd-x", "passwordConfirm": "Passw0rd-x"},
        ),
    }
    member = sign_up(world, "member", "members")
    member_record = find_record(world, member["id"], "members")
    assert member_record.collection.auth is not None
    for kind, (path, extra) in paths.items():
        # a good token works as a control: the refusals below are about the token
        good = forge(record, kind, secrets[kind])
        expired = forge(record, kind, secrets[kind], exp=int(time.time()) - 5)
        forged = forge(record, kind, "not-the-secret")
        other_type = "passwordReset" if kind != "passwordReset" else "verification"
        wrong_purpose = forge(record, other_type, secrets[other_type], type=kind)
        auth_token = user["token"]
        for bad in (expired, forged, wrong_purpose, auth_token, "garbage"):
            answer = post(world, path, {"token": bad, **extra})
            assert answer.status_code == 400, (kind, answer.text)
            assert answer.json()["message"] == VALIDATE
            assert "token" in answer.json()["data"], (kind, answer.text)
        # a token of another auth collection, sent to users
        secret = getattr(
            member_record.collection.auth,
            {
                "verification": "verificationToken",
                "passwordReset": "passwordResetToken",
                "emailChange": "emailChangeToken",
            }[kind],
        ).secret
        foreign = forge(member_record, kind, secret, newEmail="foreign-new@example.com")
        answer = post(world, path, {"token": foreign, **extra})
        assert field_code(answer, "token") == "validation_token_collection_mismatch", kind
        assert post(world, path, {"token": good, **extra}).status_code == 204, kind
        record = find_record(world, user["id"])  # tokenKey may have rotated


# Validation -------------------------------------------------------------------

REQUIRED = {"code": "validation_required", "message": "Cannot be blank."}
# fmt: off
SCENARIOS = [
    Scenario("request-verification without email", "POST", f"{USERS}/request-verification", body={},
             status=400, contains={"message": VALIDATE, "data": {"email": REQUIRED}}),
    Scenario("request-verification bad email", "POST", f"{USERS}/request-verification",
             body={"email": "nope"}, status=400,
             contains={"data": {"email": {"code": "validation_is_email"}}}),
    Scenario("request-verification long email", "POST", f"{USERS}/request-verification",
             body={"email": "x" * 250 + "@example.com"}, status=400,
             contains={"data": {"email": {"code": "validation_length_out_of_range"}}}),
    Scenario("request-verification wrong type", "POST", f"{USERS}/request-verification",
             body={"email": 123}, status=400, contains={"message": LOAD, "data": {}}),
    Scenario("request-verification malformed", "POST", f"{USERS}/request-verification",
             raw=b'{"email":', status=400, contains={"message": LOAD}),
    Scenario("request-verification on superusers", "POST",
             "/api/collections/_superusers/request-verification", body={"email": "a@example.com"},
             status=400, contains={"message": "All superusers are verified by default."}),
    Scenario("request-verification on a base collection", "POST",
             "/api/collections/_mfas/request-verification", body={"email": "a@example.com"},
             status=404, contains={"message": "Missing or invalid auth collection context."}),
    Scenario("request-verification unknown collection", "POST",
             "/api/collections/nope/request-verification", body={"email": "a@example.com"},
             status=404, contains={"message": "Missing or invalid collection context."}),
    Scenario("confirm-verification without token", "POST", f"{USERS}/confirm-verification",
             body={}, status=400, contains={"data": {"token": REQUIRED}}),
    Scenario("confirm-verification garbage", "POST", f"{USERS}/confirm-verification",
             body={"token": "garbage"}, status=400,
             contains={"data": {"token": {"code": "validation_invalid_token_claims"}}}),
    Scenario("confirm-verification wrong type", "POST", f"{USERS}/confirm-verification",
             body={"token": ["x"]}, status=400, contains={"message": LOAD}),
    Scenario("request-password-reset without email", "POST", f"{USERS}/request-password-reset",
             body={"email": ""}, status=400, contains={"data": {"email": REQUIRED}}),
    Scenario("confirm-password-reset empty", "POST", f"{USERS}/confirm-password-reset", body={},
             status=400, contains={"data": {"token": REQUIRED, "password": REQUIRED,
                                            "passwordConfirm": REQUIRED}}),
    Scenario("confirm-password-reset wrong types", "POST", f"{USERS}/confirm-password-reset",
             body={"token": "t", "password": 12345678}, status=400, contains={"message": LOAD}),
    Scenario("confirm-email-change empty", "POST", f"{USERS}/confirm-email-change", body={},
             status=400, contains={"data": {"token": REQUIRED, "password": REQUIRED}}),
    Scenario("confirm-email-change bad token", "POST", f"{USERS}/confirm-email-change",
             body={"token": "x", "password": "y"}, status=400, contains={"data": {
                 "token": {"code": "validation_invalid_token_payload"},
                 "password": {"code": "validation_invalid_password"}}}),
    Scenario("confirm-email-change on superusers", "POST",
             "/api/collections/_superusers/confirm-email-change", body={}, status=400,
             contains={"message": "All superusers can change their emails directly."}),
    Scenario("impersonate as guest", "POST", f"{USERS}/impersonate/$user1", body={}, status=401),
    Scenario("impersonate as user", "POST", f"{USERS}/impersonate/$user1", who="user1", body={},
             status=403, contains={
                 "message": "The authorized record is not allowed to perform this action."}),
    Scenario("impersonate unknown record", "POST", f"{USERS}/impersonate/nope", who="superuser",
             body={}, status=404),
    Scenario("impersonate base collection", "POST", "/api/collections/_mfas/impersonate/x",
             who="superuser", body={}, status=404,
             contains={"message": "Missing or invalid auth collection context."}),
    Scenario("impersonate negative duration", "POST", f"{USERS}/impersonate/$user1",
             who="superuser", body={"duration": -1}, status=400, contains={"data": {"duration": {
                 "code": "validation_min_greater_equal_than_required"}}}),
    Scenario("impersonate duration as text", "POST", f"{USERS}/impersonate/$user1",
             who="superuser", body={"duration": "60"}, status=400, contains={"message": LOAD}),
    Scenario("impersonate fractional duration", "POST", f"{USERS}/impersonate/$user1",
             who="superuser", body={"duration": 1.5}, status=400, contains={"message": LOAD}),
    Scenario("test email as guest", "POST", "/api/settings/test/email",
             body={"email": "a@example.com", "template": "otp"}, status=401),
    Scenario("test email as user", "POST", "/api/settings/test/email", who="user1",
             body={"email": "a@example.com", "template": "otp"}, status=403),
    Scenario("test email invalid", "POST", "/api/settings/test/email", who="superuser",
             body={"email": "bad", "template": "nope", "collection": "posts"}, status=400,
             contains={"message": "Failed to send the test email.", "data": {
                 "email": {"code": "validation_is_email"},
                 "template": {"code": "validation_in_invalid"},
                 "collection": {"code": "validation_invalid_auth_collection"}}}),
    Scenario("test email empty", "POST", "/api/settings/test/email", who="superuser", body={},
             status=400, contains={"data": {"email": REQUIRED, "template": REQUIRED}}),
    Scenario("test email wrong type", "POST", "/api/settings/test/email", who="superuser",
             body={"email": ["a"]}, status=400, contains={"message": LOAD}),
]
# fmt: on


@params(SCENARIOS)
def test_bad_input(world: World, scenario: Scenario) -> None:
    run(world, scenario)


# Impersonation ----------------------------------------------------------------


def test_impersonate(world: World) -> None:
    user = sign_up(world, "impersonated")
    url = f"{USERS}/impersonate/{user['id']}"
    answer = world.client.post(url, json={}, headers={"Authorization": world.tokens["superuser"]})
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert answer.json()["record"]["id"] == user["id"]
    assert answer.json()["record"]["email"] == user["email"]
    found = claims(token)
    assert found["refreshable"] is False and found["type"] == "auth"
    assert abs(found["exp"] - time.time() - 432000) < 60  # 0 = the collection's duration
    assert view(world, user, token).status_code == 200

    short = world.client.post(
        url, json={"duration": 100}, headers={"Authorization": world.tokens["superuser"]}
    )
    short_token = short.json()["token"]
    assert abs(claims(short_token)["exp"] - time.time() - 100) < 10
    # not refreshable: auth-refresh answers with the same token (PocketBase)
    refreshed = world.client.post(f"{USERS}/auth-refresh", headers={"Authorization": short_token})
    assert refreshed.status_code == 200
    assert refreshed.json()["token"] == short_token


# Templates, hooks and the test email -----------------------------------------------


def test_templates_placeholders_and_escaping(world: World, catcher: MailCatcher) -> None:
    template = {
        "subject": "Hi {RECORD:name} at {APP_NAME}",
        "body": "<p>{RECORD:name}|{RECORD:email}|{RECORD:tokenKey}|{APP_URL}|{TOKEN}</p>",
    }
    patched = world.request("PATCH", USERS, "superuser", json={"resetPasswordTemplate": template})
    assert patched.status_code == 200, patched.text
    try:
        email = "escaped@example.com"
        created = world.client.post(
            f"{USERS}/records",
            json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD,
                  "name": "<b>Bo</b> & 'co'"},
        )  # fmt: skip
        assert created.status_code == 200
        assert post(world, "request-password-reset", {"email": email}).status_code == 204
        mail = catcher.wait_for(email)
        assert mail["Subject"] == "Hi &lt;b&gt;Bo&lt;/b&gt; &amp; &#39;co&#39; at Acme"
        html = html_of(mail)
        token = token_in(mail)
        assert (
            f"<p>&lt;b&gt;Bo&lt;/b&gt; &amp; &#39;co&#39;|{email}|{{RECORD:tokenKey}}|https://acme.test|{token}</p>"
            in html
        )
    finally:
        world.request("PATCH", USERS, "superuser", json={"resetPasswordTemplate": {
            "subject": "Reset your {APP_NAME} password", "body": "{TOKEN}"}})  # fmt: skip


def test_mail_send_hooks_change_and_cancel(world: World, catcher: MailCatcher) -> None:
    app = app_of(world)

    async def brand(e: MailEvent) -> None:
        if any("hush" in to for to in e.to):
            return  # cancelled
        e.subject = "[branded] " + e.subject
        await e.next()

    binding = app.hooks.mail_send.bind(brand)
    try:
        quiet = sign_up(world, "hush")
        loud = sign_up(world, "loud")
        for user in (quiet, loud):
            assert post(world, "request-verification", {"email": user["email"]}).status_code == 204
        assert catcher.wait_for(loud["email"])["Subject"] == "[branded] Verify your Acme email"
        assert no_mail_to(catcher, quiet["email"])
    finally:
        app.hooks.mail_send.unbind(binding)


def test_settings_test_email(world: World, catcher: MailCatcher) -> None:
    expected = {
        "verification": "Verify your Acme email",
        "password-reset": "Reset your",
        "email-change": "Confirm your Acme new email address",
        "otp": "OTP for Acme",
        "login-alert": "Login from a new location",
    }
    for count, (template, subject) in enumerate(expected.items(), start=1):
        answer = world.request(
            "POST", "/api/settings/test/email", "superuser",
            json={"email": "tester@example.com", "template": template, "collection": "users"},
        )  # fmt: skip
        assert answer.status_code == 204, answer.text
        mail = catcher.wait_for("tester@example.com", count)
        assert str(mail["Subject"]).startswith(subject), (template, mail["Subject"])
    assert "123456" in html_of(catcher.to("tester@example.com")[3])
    assert "TEST_IP TEST_USER_AGENT" in html_of(catcher.to("tester@example.com")[4])
    # _superusers is the default collection
    answer = world.request(
        "POST", "/api/settings/test/email", "superuser",
        json={"email": "tester2@example.com", "template": "verification"},
    )  # fmt: skip
    assert answer.status_code == 204
    assert (
        claims(token_in(catcher.wait_for("tester2@example.com")))["collectionId"]
        == "pbc_3142635823"
    )


def test_failures_to_send_are_clear_400s(world: World, catcher: MailCatcher) -> None:
    user = sign_up(world, "unreachable")
    dead = {"smtp": {"enabled": True, "host": "127.0.0.1", "port": 1}}
    assert world.request("PATCH", "/api/settings", "superuser", json=dead).status_code == 200
    try:
        answer = world.request(
            "POST", "/api/settings/test/email", "superuser",
            json={"email": "a@example.com", "template": "otp"},
        )  # fmt: skip
        assert answer.status_code == 400
        assert answer.json()["message"].startswith("Failed to send the test email. Raw error: \n")
        change = post(
            world, "request-email-change", {"newEmail": "dead@example.com"}, user["token"]
        )
        assert change.status_code == 400
        assert change.json()["message"] == "Failed to request email change."
        # requests that mail in the background still answer 204
        assert post(world, "request-password-reset", {"email": user["email"]}).status_code == 204
        off = {"smtp": {"enabled": False}}
        assert world.request("PATCH", "/api/settings", "superuser", json=off).status_code == 200
        disabled = world.request(
            "POST", "/api/settings/test/email", "superuser",
            json={"email": "a@example.com", "template": "otp"},
        )  # fmt: skip
        assert disabled.status_code == 400 and "SMTP" in disabled.json()["message"]
    finally:
        live = {"smtp": {"enabled": True, "host": "127.0.0.1", "port": catcher.port}}
        world.request("PATCH", "/api/settings", "superuser", json=live)


def test_smtp_settings_are_validated_and_the_password_never_returned(world: World) -> None:
    saved = world.request(
        "PATCH", "/api/settings", "superuser", json={"smtp": {"password": "hunter2"}}
    )
    assert saved.status_code == 200 and "password" not in saved.json()["smtp"]
    read = world.request("GET", "/api/settings", "superuser")
    assert "password" not in read.json()["smtp"] and "hunter2" not in read.text
    bad = world.request("PATCH", "/api/settings", "superuser", json={
        "smtp": {"enabled": True, "host": "", "port": 0, "authMethod": "NOPE"},
        "meta": {"senderAddress": "not-an-address", "senderName": ""}})  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["data"] == {
        "smtp": {
            "host": {"code": "validation_required", "message": "Cannot be blank."},
            "port": {"code": "validation_required", "message": "Cannot be blank."},
            "authMethod": {"code": "validation_in_invalid", "message": "Must be a valid value."},
        },
        "meta": {
            "senderAddress": {
                "code": "validation_is_email",
                "message": "Must be a valid email address.",
            },
            "senderName": {"code": "validation_required", "message": "Cannot be blank."},
        },
    }
    wrong_type = world.request("PATCH", "/api/settings", "superuser", json={"smtp": {"port": "25"}})
    assert wrong_type.status_code == 400 and wrong_type.json()["message"] == LOAD
