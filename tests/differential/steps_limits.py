"""Differential steps for rate limits: settings validation, and 429 at the same request count.

Windows are long (60 s) so the counts cannot depend on timing; the last step
turns limits off again so later steps are not limited.
"""

from __future__ import annotations

from typing import Any

Step = dict[str, Any]
SU = "superuser"

SETTINGS = "/api/settings"
METHODS = "/api/collections/users/auth-methods"
SU_METHODS = "/api/collections/_superusers/auth-methods"
SIGN_IN = "/api/collections/users/auth-with-password"


def rule(label: str, max_requests: int, audience: str = "", duration: int = 60) -> dict[str, Any]:
    return {"label": label, "audience": audience, "duration": duration, "maxRequests": max_requests}


def step(name: str, method: str, url: str, who: str = "guest", **extra: Any) -> Step:
    return {"name": name, "method": method, "url": url, "as": who, **extra}


def limits(name: str, body: dict[str, Any]) -> Step:
    return step(name, "PATCH", SETTINGS + "?fields=rateLimits", SU, body={"rateLimits": body})


LIMITS_STEPS: list[Step] = [
    limits(
        "limits: bad rule fields",
        {
            "rules": [
                {"label": "bad label!", "audience": "x", "duration": 0, "maxRequests": -1},
                {"label": "x:*", "duration": 1, "maxRequests": 1},
                {"label": "GET /ok", "duration": 1, "maxRequests": 1},
            ]
        },
    ),
    limits(
        "limits: conflicting rules",
        {"rules": [rule("/api/", 1, "@guest"), rule("/api/", 1, "@auth"), rule("/api/", 1)]},
    ),
    limits("limits: duplicate rules", {"rules": [rule("a:b", 1), rule("a:b", 2)]}),
    limits("limits: enabled without rules", {"enabled": True, "rules": []}),
    limits("limits: bad excluded IPs", {"excludedIPs": ["10.0.0.0/8", "nope", "1.2.3.4/33"]}),
    limits(
        "limits: enable",
        {
            "enabled": True,
            "excludedIPs": [],
            "rules": [
                rule("users:listAuthMethods", 2),
                rule("*:listAuthMethods", 3),
                rule("*:auth", 1),
                rule("/api/health", 1, "@guest"),
            ],
        },
    ),
    step("limits: users auth-methods 1", "GET", METHODS),
    step("limits: users auth-methods 2", "GET", METHODS),
    step("limits: users auth-methods 3", "GET", METHODS),
    step("limits: users auth-methods as user1", "GET", METHODS, "user1"),
    step("limits: users auth-methods as superuser", "GET", METHODS, SU),
    step("limits: _superusers auth-methods 1", "GET", SU_METHODS),
    step("limits: _superusers auth-methods 2", "GET", SU_METHODS),
    step("limits: _superusers auth-methods 3", "GET", SU_METHODS),
    step("limits: _superusers auth-methods 4", "GET", SU_METHODS),
    step(
        "limits: sign-in 1",
        "POST",
        SIGN_IN,
        body={"identity": "nobody@example.com", "password": "x"},
    ),
    step(
        "limits: sign-in 2",
        "POST",
        SIGN_IN,
        body={"identity": "nobody@example.com", "password": "x"},
    ),
    step("limits: health 1", "GET", "/api/health"),
    step("limits: health 2", "GET", "/api/health"),
    step("limits: health as user1", "GET", "/api/health", "user1"),
    limits("limits: disable", {"enabled": False}),
    step("limits: users auth-methods after", "GET", METHODS),
]
