"""Differential steps for the second parity round: superuserIPs, settings keys,
the endpoints and query behaviours that differed.

Both servers see the test's requests from 127.0.0.1; ``X-Forwarded-For`` (made
trusted by the first step) stands for a client elsewhere.
"""

from __future__ import annotations

from typing import Any

Step = dict[str, Any]
SU = "superuser"
SETTINGS = "/api/settings"
SU_AUTH = "/api/collections/_superusers/auth-with-password"
SU_LOGIN = {"identity": "admin@example.com", "password": "Passw0rd123"}
XFF = "X-Forwarded-For"
ALLOWED = {XFF: "10.1.1.1"}


def step(name: str, method: str, url: str, who: str = "guest", **extra: Any) -> Step:
    return {"name": name, "method": method, "url": url, "as": who, **extra}


SUPERUSER_IPS_STEPS: list[Step] = [
    step(
        "superuserIPs: bad entries",
        "PATCH",
        SETTINGS + "?fields=superuserIPs",
        SU,
        body={"superuserIPs": ["10.0.0.1", "", "nope", "10.0.0.0/33", "fe80::/10"]},
    ),
    step(
        "superuserIPs: allow only 10.1.1.1 and 10.2.0.0/16",
        "PATCH",
        SETTINGS + "?fields=superuserIPs,trustedProxy",
        SU,
        body={
            "superuserIPs": ["10.1.1.1", "10.2.0.0/16"],
            "trustedProxy": {"headers": [XFF], "useLeftmostIP": False},
        },
    ),
    step("superuserIPs: settings from 127.0.0.1", "GET", SETTINGS + "?fields=meta.appName", SU),
    step(
        "superuserIPs: settings from 10.1.1.1",
        "GET",
        SETTINGS + "?fields=superuserIPs",
        SU,
        headers=ALLOWED,
    ),
    step(
        "superuserIPs: collections from the subnet",
        "GET",
        "/api/collections?fields=name&perPage=1&sort=created",
        SU,
        headers={XFF: "10.2.200.3"},
    ),
    step("superuserIPs: sign-in from 127.0.0.1", "POST", SU_AUTH + "?fields=token", body=SU_LOGIN),
    step(
        "superuserIPs: sign-in from 10.1.1.1",
        "POST",
        SU_AUTH + "?fields=record.email",
        body=SU_LOGIN,
        headers=ALLOWED,
    ),
    step(
        "superuserIPs: a user is not affected",
        "GET",
        "/api/collections/users/auth-methods?fields=password",
        "user1",
    ),
    step(
        "superuserIPs: clear from 10.1.1.1",
        "PATCH",
        SETTINGS + "?fields=superuserIPs,trustedProxy",
        SU,
        headers=ALLOWED,
        body={"superuserIPs": [], "trustedProxy": {"headers": []}},
    ),
    step("superuserIPs: settings again", "GET", SETTINGS + "?fields=superuserIPs", SU),
]

BIG_BATCH = {
    "requests": [
        {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "x" * 300}}
    ]
}

SETTINGS_STEPS: list[Step] = [
    step(
        "settings: batch bodies up to 200 bytes",
        "PATCH",
        SETTINGS + "?fields=batch",
        SU,
        body={"batch": {"enabled": True, "maxBodySize": 200}},
    ),
    step("settings: a batch over maxBodySize", "POST", "/api/batch", body=BIG_BATCH),
    step(
        "settings: batch bodies unlimited again",
        "PATCH",
        SETTINGS + "?fields=batch",
        SU,
        body={"batch": {"maxBodySize": 0}},
    ),
    step(
        "settings: dashboard keys round trip",
        "PATCH",
        SETTINGS + "?fields=meta.hideControls,meta.accentColor",
        SU,
        body={"meta": {"hideControls": True, "accentColor": "#ff0000"}},
    ),
    step(
        "settings: dashboard keys back",
        "PATCH",
        SETTINGS + "?fields=meta.hideControls",
        SU,
        body={"meta": {"hideControls": False}},
    ),
]

PARITY_STEPS: list[Step] = [*SUPERUSER_IPS_STEPS, *SETTINGS_STEPS]
