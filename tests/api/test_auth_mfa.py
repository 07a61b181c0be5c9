"""Multi-factor auth through the HTTP API: password and OTP (codes from real mail)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import PASSWORD, use_inbox
from tests.api.scenario import World
from tests.api.test_auth_otp import AUTH as OTP_AUTH
from tests.api.test_auth_otp import age, new_user, request_code
from tests.api.worlds import Template
from tests.mail_catcher import MailCatcher

PASSWORD_AUTH = "/api/collections/users/auth-with-password"


@pytest.fixture(scope="module")
def template(
    base: Template, tmp_path_factory: pytest.TempPathFactory, inbox: MailCatcher
) -> Iterator[Template]:
    """Mail goes to ``inbox``; users need a password and an OTP."""

    def enable_mfa(world: World) -> None:
        enabled = world.request(
            "PATCH",
            "/api/collections/users",
            "superuser",
            json={
                "otp": {"enabled": True, "length": 6},
                "mfa": {"enabled": True, "duration": 300},
                "authAlert": {"enabled": False},
            },
        )
        assert enabled.status_code == 200, enabled.text

    data_dir = tmp_path_factory.mktemp("mfa") / "kb_data"
    with base.extend(data_dir, use_inbox(inbox), enable_mfa) as extended:
        yield extended


def mfas(world: World) -> list[dict[str, Any]]:
    listed = world.request("GET", "/api/collections/_mfas/records?perPage=100", "superuser")
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def with_password(world: World, email: str, url: str = PASSWORD_AUTH, **extra: Any) -> Any:
    return world.client.post(url, json={"identity": email, "password": PASSWORD, **extra})


def first_factor(world: World, email: str) -> str:
    response = with_password(world, email)
    assert response.status_code == 401, response.text
    assert set(response.json()) == {"mfaId"}
    return str(response.json()["mfaId"])


def test_password_then_otp_completes(world: World, inbox: MailCatcher) -> None:
    user_id = new_user(world, "mfa1@example.com")
    mfa_id = first_factor(world, "mfa1@example.com")
    stored = next(m for m in mfas(world) if m["id"] == mfa_id)
    assert stored["method"] == "password"
    assert stored["recordRef"] == user_id and stored["collectionRef"] == "_pb_users_auth_"

    otp_id, code = request_code(world, inbox, "mfa1@example.com")
    signed = world.client.post(OTP_AUTH, json={"otpId": otp_id, "password": code, "mfaId": mfa_id})
    assert signed.status_code == 200, signed.text
    assert signed.json()["record"]["id"] == user_id and signed.json()["token"]
    assert all(m["id"] != mfa_id for m in mfas(world))  # used up


def test_otp_then_password_with_the_id_in_the_query(world: World, inbox: MailCatcher) -> None:
    new_user(world, "mfa2@example.com")
    otp_id, code = request_code(world, inbox, "mfa2@example.com")
    first = world.client.post(OTP_AUTH, json={"otpId": otp_id, "password": code})
    assert first.status_code == 401 and set(first.json()) == {"mfaId"}
    mfa_id = first.json()["mfaId"]
    assert next(m for m in mfas(world) if m["id"] == mfa_id)["method"] == "otp"
    second = with_password(world, "mfa2@example.com", url=f"{PASSWORD_AUTH}?mfaId={mfa_id}")
    assert second.status_code == 200, second.text
    # the token is a plain auth token: refreshing it is not challenged again
    refreshed = world.client.post(
        "/api/collections/users/auth-refresh", headers={"Authorization": second.json()["token"]}
    )
    assert refreshed.status_code == 200, refreshed.text


def test_the_same_method_twice_is_refused(world: World) -> None:
    new_user(world, "mfa3@example.com")
    mfa_id = first_factor(world, "mfa3@example.com")
    again = with_password(world, "mfa3@example.com", mfaId=mfa_id)
    assert again.status_code == 400
    assert again.json() == {
        "data": {},
        "message": "A different authentication method is required.",
        "status": 400,
    }
    assert any(m["id"] == mfa_id for m in mfas(world))  # still usable with another method


def test_bad_mfa_ids(world: World) -> None:
    new_user(world, "mfa4@example.com")
    new_user(world, "mfa5@example.com")
    mfa_id = first_factor(world, "mfa4@example.com")
    cases: list[tuple[Any, str]] = [
        ("nonexistent1234", "Invalid or expired MFA session."),
        (123, "Failed to read MFA Id."),
        (mfa_id, "Invalid MFA session."),  # another user's session
    ]
    for value, message in cases:
        response = with_password(world, "mfa5@example.com", mfaId=value)
        assert response.status_code == 400, response.text
        assert response.json()["message"] == message
    # a failed first factor says so, whatever the mfaId
    wrong = world.client.post(
        PASSWORD_AUTH, json={"identity": "mfa4@example.com", "password": "wrong", "mfaId": mfa_id}
    )
    assert wrong.status_code == 400 and wrong.json()["message"] == "Failed to authenticate."


def test_expired_mfa_is_refused_and_removed(world: World, inbox: MailCatcher) -> None:
    new_user(world, "mfa6@example.com")
    mfa_id = first_factor(world, "mfa6@example.com")
    age(world, "_mfas", mfa_id)
    otp_id, code = request_code(world, inbox, "mfa6@example.com")
    late = world.client.post(OTP_AUTH, json={"otpId": otp_id, "password": code, "mfaId": mfa_id})
    assert late.status_code == 400
    assert late.json()["message"] == "Invalid or expired MFA session."
    assert all(m["id"] != mfa_id for m in mfas(world))


def test_answer_shape_ignores_fields_and_expand(world: World) -> None:
    new_user(world, "mfa7@example.com")
    response = with_password(
        world, "mfa7@example.com", url=PASSWORD_AUTH + "?fields=token&expand=x"
    )
    assert response.status_code == 401
    assert set(response.json()) == {"mfaId"} and len(response.json()["mfaId"]) == 15


def test_rule_decides_who_needs_mfa(world: World) -> None:
    new_user(world, "mfa8@example.com")
    new_user(world, "mfa9@example.com")
    ruled = world.request(
        "PATCH",
        "/api/collections/users",
        "superuser",
        json={"mfa": {"rule": "email = 'mfa8@example.com'"}},
    )
    assert ruled.status_code == 200, ruled.text
    try:
        assert with_password(world, "mfa8@example.com").status_code == 401
        assert with_password(world, "mfa9@example.com").status_code == 200
    finally:
        world.request("PATCH", "/api/collections/users", "superuser", json={"mfa": {"rule": ""}})


def test_auth_methods_lists_mfa(world: World) -> None:
    methods = world.client.get("/api/collections/users/auth-methods").json()
    assert methods["mfa"] == {"enabled": True, "duration": 300}
    assert methods["otp"] == {"enabled": True, "duration": 180}


# fmt: off
OPTION_ERRORS = [
    ({"mfa": {"enabled": True}, "otp": {"enabled": False}},
     {"mfa": {"enabled": {"code": "validation_mfa_not_enough_auths"}}}),
    ({"otp": {"enabled": True, "length": 3, "duration": 9}},
     {"otp": {"length": {"code": "validation_min_greater_equal_than_required", "params": {"threshold": 4}},
              "duration": {"code": "validation_min_greater_equal_than_required"}}}),
    ({"mfa": {"enabled": True, "duration": 0}},
     {"mfa": {"duration": {"code": "validation_required"}}}),
    ({"mfa": {"enabled": True, "duration": 86401}},
     {"mfa": {"duration": {"code": "validation_max_less_equal_than_required"}}}),
    ({"mfa": {"enabled": True, "rule": "nope = 1"}},
     {"mfa": {"rule": {"code": "validation_invalid_rule"}}}),
    ({"otp": {"emailTemplate": {"subject": ""}}},
     {"otp": {"emailTemplate": {"subject": {"code": "validation_required"}}}}),
    ({"authAlert": {"emailTemplate": {"body": ""}}},
     {"authAlert": {"emailTemplate": {"body": {"code": "validation_required"}}}}),
]
# fmt: on


@pytest.mark.parametrize(("patch", "expected"), OPTION_ERRORS)
def test_option_checks(world: World, patch: dict[str, Any], expected: dict[str, Any]) -> None:
    from tests.api.scenario import contains

    response = world.request("PATCH", "/api/collections/users", "superuser", json=patch)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "Failed to update collection."
    contains(response.json()["data"], expected)
    assert set(response.json()["data"]) == set(expected)
