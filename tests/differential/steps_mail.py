"""Differential steps for the mail-based auth flows and impersonation.

Only answers that do not depend on mail delivery: neither server has a mail
server configured, so the requests that mail in the background answer 204
and send nothing, and everything else is validation, token checks and
permissions. The story signs up its own user (``mailuser``) and sends that
user's token in a header, so it does not depend on earlier steps' tokens.
"""

from __future__ import annotations

from typing import Any

Step = dict[str, Any]
SU = "superuser"
PASSWORD = "Passw0rd123"


def step(name: str, method: str, url: str, **extra: Any) -> Step:
    """One step, as ``steps.step`` makes it (``who`` is spelled ``as`` in the data)."""
    who = extra.pop("who", None)
    out: Step = {"name": name, "method": method, "url": url, **extra}
    if who is not None:
        out["as"] = who
    return out


USERS = "/api/collections/users"
MAIL_USER = "mailuser@example.com"
AS_MAIL_USER = {"Authorization": "$mailuser_token"}
TEST_EMAIL = "/api/settings/test/email"

SIGN_UP = {"email": MAIL_USER, "password": PASSWORD, "passwordConfirm": PASSWORD}
SIGN_UP_OTHER = {
    "email": "mailother@example.com",
    "password": PASSWORD,
    "passwordConfirm": PASSWORD,
}

MAIL_STEPS: list[Step] = [
    step("mail: sign up", "POST", USERS + "/records", body=SIGN_UP, save={"mailuser_id": "id"}),
    step("mail: sign up other", "POST", USERS + "/records", body=SIGN_UP_OTHER),
    step(
        "mail: sign in",
        "POST",
        USERS + "/auth-with-password",
        body={"identity": MAIL_USER, "password": PASSWORD},
        save={"mailuser_token": "token"},
        expect_same=False,
    ),
    # verification
    step("mail: request-verification known", "POST", USERS + "/request-verification",
         body={"email": MAIL_USER}),
    step("mail: request-verification unknown", "POST", USERS + "/request-verification",
         body={"email": "nobody@example.com"}),
    step("mail: request-verification empty", "POST", USERS + "/request-verification", body={}),
    step("mail: request-verification invalid", "POST", USERS + "/request-verification",
         body={"email": "not-an-email"}),
    step("mail: request-verification too long", "POST", USERS + "/request-verification",
         body={"email": "x" * 250 + "@example.com"}),
    step("mail: request-verification wrong type", "POST", USERS + "/request-verification",
         body={"email": 42}),
    step("mail: request-verification malformed", "POST", USERS + "/request-verification",
         raw='{"email":', content_type="application/json"),
    step("mail: request-verification superusers", "POST",
         "/api/collections/_superusers/request-verification", body={"email": "admin@example.com"}),
    step("mail: request-verification base collection", "POST",
         "/api/collections/_mfas/request-verification", body={"email": MAIL_USER}),
    step("mail: request-verification unknown collection", "POST",
         "/api/collections/nope/request-verification", body={"email": MAIL_USER}),
    step("mail: confirm-verification empty", "POST", USERS + "/confirm-verification", body={}),
    step("mail: confirm-verification garbage", "POST", USERS + "/confirm-verification",
         body={"token": "garbage"}),
    step("mail: confirm-verification auth token", "POST", USERS + "/confirm-verification",
         body={"token": "$mailuser_token"}),
    step("mail: confirm-verification wrong type", "POST", USERS + "/confirm-verification",
         body={"token": 1}),
    step("mail: confirm-verification superusers", "POST",
         "/api/collections/_superusers/confirm-verification", body={"token": "x"}),
    # password reset
    step("mail: request-password-reset known", "POST", USERS + "/request-password-reset",
         body={"email": MAIL_USER}),
    step("mail: request-password-reset unknown", "POST", USERS + "/request-password-reset",
         body={"email": "nobody@example.com"}),
    step("mail: request-password-reset invalid", "POST", USERS + "/request-password-reset",
         body={"email": "nope"}),
    step("mail: request-password-reset superuser", "POST",
         "/api/collections/_superusers/request-password-reset",
         body={"email": "nobody@example.com"}),
    step("mail: confirm-password-reset empty", "POST", USERS + "/confirm-password-reset",
         body={}),
    step("mail: confirm-password-reset bad token", "POST", USERS + "/confirm-password-reset",
         body={"token": "garbage", "password": "x", "passwordConfirm": "y"}),
    step("mail: confirm-password-reset auth token", "POST", USERS + "/confirm-password-reset",
         body={"token": "$mailuser_token", "password": "Passw0rd-new",
               "passwordConfirm": "Passw0rd-new"}),
    step("mail: confirm-password-reset wrong type", "POST", USERS + "/confirm-password-reset",
         body={"token": "x", "password": 12345678, "passwordConfirm": 12345678}),
    # email change
    step("mail: request-email-change guest", "POST", USERS + "/request-email-change",
         body={"newEmail": "new@example.com"}),
    step("mail: request-email-change superuser", "POST", USERS + "/request-email-change",
         who=SU, body={"newEmail": "new@example.com"}),
    step("mail: request-email-change superusers collection", "POST",
         "/api/collections/_superusers/request-email-change", who=SU,
         body={"newEmail": "new@example.com"}),
    step("mail: request-email-change empty", "POST", USERS + "/request-email-change",
         headers=AS_MAIL_USER, body={}),
    step("mail: request-email-change invalid", "POST", USERS + "/request-email-change",
         headers=AS_MAIL_USER, body={"newEmail": "nope"}),
    step("mail: request-email-change same", "POST", USERS + "/request-email-change",
         headers=AS_MAIL_USER, body={"newEmail": MAIL_USER}),
    step("mail: request-email-change taken", "POST", USERS + "/request-email-change",
         headers=AS_MAIL_USER, body={"newEmail": "mailother@example.com"}),
    step("mail: request-email-change wrong type", "POST", USERS + "/request-email-change",
         headers=AS_MAIL_USER, body={"newEmail": ["a@example.com"]}),
    step("mail: confirm-email-change empty", "POST", USERS + "/confirm-email-change", body={}),
    step("mail: confirm-email-change garbage", "POST", USERS + "/confirm-email-change",
         body={"token": "garbage", "password": PASSWORD}),
    step("mail: confirm-email-change auth token", "POST", USERS + "/confirm-email-change",
         body={"token": "$mailuser_token", "password": PASSWORD}),
    step("mail: confirm-email-change superusers", "POST",
         "/api/collections/_superusers/confirm-email-change", body={}),
    # impersonation
    step("mail: impersonate as guest", "POST", USERS + "/impersonate/$mailuser_id", body={}),
    step("mail: impersonate as user", "POST", USERS + "/impersonate/$mailuser_id",
         headers=AS_MAIL_USER, body={}),
    step("mail: impersonate", "POST", USERS + "/impersonate/$mailuser_id", who=SU, body={},
         save={"impersonated_token": "token"}),
    step("mail: impersonate with duration", "POST", USERS + "/impersonate/$mailuser_id",
         who=SU, body={"duration": 60}),
    step("mail: impersonated token refresh", "POST", USERS + "/auth-refresh",
         headers={"Authorization": "$impersonated_token"}),
    step("mail: impersonate negative duration", "POST", USERS + "/impersonate/$mailuser_id",
         who=SU, body={"duration": -5}),
    step("mail: impersonate text duration", "POST", USERS + "/impersonate/$mailuser_id",
         who=SU, body={"duration": "5"}),
    step("mail: impersonate unknown record", "POST", USERS + "/impersonate/nope", who=SU,
         body={}),
    step("mail: impersonate base collection", "POST", "/api/collections/_mfas/impersonate/x",
         who=SU, body={}),
    # test email and mail settings
    step("mail: test email guest", "POST", TEST_EMAIL,
         body={"email": "a@example.com", "template": "otp"}),
    step("mail: test email user", "POST", TEST_EMAIL, headers=AS_MAIL_USER,
         body={"email": "a@example.com", "template": "otp"}),
    step("mail: test email empty", "POST", TEST_EMAIL, who=SU, body={}),
    step("mail: test email invalid", "POST", TEST_EMAIL, who=SU,
         body={"email": "bad", "template": "nope", "collection": "nope"}),
    step("mail: test email wrong type", "POST", TEST_EMAIL, who=SU,
         body={"email": "a@example.com", "template": 1}),
    step("mail: settings smtp invalid", "PATCH", "/api/settings?fields=smtp", who=SU,
         body={"smtp": {"enabled": True, "host": "bad host!", "port": -1, "authMethod": "X",
                        "localName": "bad host!"}}),
    step("mail: settings smtp required", "PATCH", "/api/settings?fields=smtp", who=SU,
         body={"smtp": {"enabled": True, "host": "", "port": 0}}),
    step("mail: settings meta invalid", "PATCH", "/api/settings?fields=meta", who=SU,
         body={"meta": {"appName": "", "appURL": "", "senderName": "x" * 256,
                        "senderAddress": "bad"}}),
    step("mail: settings wrong type", "PATCH", "/api/settings?fields=smtp", who=SU,
         body={"smtp": {"port": "25"}}),
    step("mail: settings smtp saved without password", "PATCH", "/api/settings?fields=smtp",
         who=SU, body={"smtp": {"enabled": False, "host": "smtp.example.org", "port": 2525,
                                "username": "u", "password": "secret", "authMethod": "LOGIN"}}),
]  # fmt: skip
