"""Differential steps for one-time passwords and MFA: the answers that need no mail.

Neither server has SMTP here, so a code never arrives; these steps compare
the endpoints' validation, the unknown-email answer, refusals of bad ids and
codes, the disabled case and MFA's ``401 {mfaId}`` challenge and its errors.
otpId/mfaId values are random record ids, normalised to ``<id:N>``.
The steps run last: they switch OTP and MFA on for ``users`` and off again.
"""

from __future__ import annotations

from typing import Any

Step = dict[str, Any]
SU = "superuser"
PASSWORD = "Passw0rd123"  # the scenario's users' password (steps.py)
USERS = "/api/collections/users"
REQUEST = USERS + "/request-otp"
AUTH = USERS + "/auth-with-otp"
PASSWORD_AUTH = USERS + "/auth-with-password"


def step(name: str, method: str, url: str, **extra: Any) -> Step:
    """One step, as ``steps.step`` makes it (kept here: steps.py imports this module)."""
    who = extra.pop("who", None)
    out: Step = {"name": name, "method": method, "url": url, **extra}
    if who is not None:
        out["as"] = who
    return out


def login(name: str, email: str, **extra: object) -> Step:
    return step(
        name, "POST", PASSWORD_AUTH, body={"identity": email, "password": PASSWORD, **extra}
    )


OTP_STEPS: list[Step] = [
    step("otp: request while disabled", "POST", REQUEST, body={"email": "u1@example.com"}),
    step("otp: request while disabled, bad body", "POST", REQUEST, raw="{bad",
         content_type="application/json"),
    step("otp: auth while disabled", "POST", AUTH, body={"otpId": "x", "password": "y"}),
    step("otp: request on a base collection", "POST", "/api/collections/posts/request-otp",
         body={"email": "u1@example.com"}),
    step("otp: request on an unknown collection", "POST", "/api/collections/nope/request-otp",
         body={"email": "u1@example.com"}),
    step("mfa: enable without a second method", "PATCH", USERS, who=SU,
         body={"mfa": {"enabled": True}}),
    step("otp: enable with a short code and duration", "PATCH", USERS, who=SU,
         body={"otp": {"enabled": True, "length": 3, "duration": 9}}),
    step("otp and mfa: enable with zero durations", "PATCH", USERS, who=SU,
         body={"otp": {"enabled": True, "length": 0, "duration": 0},
               "mfa": {"enabled": True, "duration": 0}}),
    step("otp and mfa: enable with too long durations and a bad rule", "PATCH", USERS, who=SU,
         body={"otp": {"enabled": True, "duration": 86401},
               "mfa": {"enabled": True, "duration": 86401, "rule": "nope = 1"}}),
    step("mfa: enable with a bad rule", "PATCH", USERS, who=SU,
         body={"otp": {"enabled": True}, "mfa": {"enabled": True, "rule": "nope = 1"}}),
    step("mfa: enable without a second method, bad rule", "PATCH", USERS, who=SU,
         body={"mfa": {"enabled": True, "rule": "nope = 1"}}),
    step("otp: blank mail template", "PATCH", USERS, who=SU,
         body={"otp": {"emailTemplate": {"subject": "", "body": " "}},
               "authAlert": {"emailTemplate": {"subject": "", "body": ""}}}),
    step("otp: enable on users", "PATCH", USERS, who=SU,
         body={"otp": {"enabled": True, "length": 6}}, expect_same=False),
    step("otp: auth-methods", "GET", USERS + "/auth-methods"),
    step("otp: request without email", "POST", REQUEST, body={}),
    step("otp: request with a bad email", "POST", REQUEST, body={"email": "bad"}),
    step("otp: request with a number", "POST", REQUEST, body={"email": 123}),
    step("otp: request with a long email", "POST", REQUEST,
         body={"email": "x" * 300 + "@example.com"}),
    step("otp: request with malformed JSON", "POST", REQUEST, raw='{"email":',
         content_type="application/json"),
    step("otp: request for an unknown email", "POST", REQUEST,
         body={"email": "nobody@example.com"}, save={"otp_unknown": "otpId"}),
    step("otp: request for u1", "POST", REQUEST, body={"email": "u1@example.com"},
         save={"otp_u1": "otpId"}),
    step("otp: request as a form", "POST", REQUEST, form={"email": "nobody@example.com"}),
    step("otp: auth with the unknown email's id", "POST", AUTH,
         body={"otpId": "$otp_unknown", "password": "123456"}),
    step("otp: auth u1 with a wrong code", "POST", AUTH,
         body={"otpId": "$otp_u1", "password": "000000x"}),
    step("otp: auth as a form with numeric-looking values", "POST", AUTH,
         form={"otpId": "123456789012345", "password": "123456"}),
    step("otp: auth without fields", "POST", AUTH, body={}),
    step("otp: auth with empty fields", "POST", AUTH, body={"otpId": "", "password": ""}),
    step("otp: auth with a number id", "POST", AUTH, body={"otpId": 123, "password": "1"}),
    step("otp: auth with a long code", "POST", AUTH, body={"otpId": "abc", "password": "1" * 72}),
    step("otp: auth with a long id", "POST", AUTH, body={"otpId": "a" * 256, "password": "1"}),
    step("otp: auth with an unknown id", "POST", AUTH,
         body={"otpId": "nonexistent1234", "password": "123456"}),
    step("mfa: enable on users", "PATCH", USERS, who=SU, body={"mfa": {"enabled": True}},
         expect_same=False),
    step("mfa: auth-methods", "GET", USERS + "/auth-methods"),
    {**login("mfa: u3 password first", "u3@example.com"), "save": {"mfa_u3": "mfaId"}},
    login("mfa: u3 password first with fields", "u3@example.com")
    | {"url": PASSWORD_AUTH + "?fields=token"},
    login("mfa: u3 password twice", "u3@example.com", mfaId="$mfa_u3"),
    login("mfa: u2 with u3's mfaId", "u2@example.com", mfaId="$mfa_u3"),
    login("mfa: unknown mfaId", "u3@example.com", mfaId="nonexistent1234"),
    login("mfa: mfaId of the wrong type", "u3@example.com", mfaId=123),
    step("mfa: wrong password with an mfaId", "POST", PASSWORD_AUTH,
         body={"identity": "u3@example.com", "password": "wrong", "mfaId": "$mfa_u3"}),
    step("mfa: u3 mfaId in the query, same method", "POST", PASSWORD_AUTH + "?mfaId=$mfa_u3",
         body={"identity": "u3@example.com", "password": PASSWORD}),
    step("otp and mfa: disable on users", "PATCH", USERS, who=SU,
         body={"mfa": {"enabled": False}, "otp": {"enabled": False}}, expect_same=False),
]  # fmt: skip
