"""Differential steps for OAuth2: provider options, their checks, and sign-in failures.

No provider is reachable from the scenario (the token URL is a closed port), so
the steps compare what both servers decide before and after talking to one:
what the collection shows (never the client secret), validation errors, the
stable part of ``auth-methods`` and the failures of ``auth-with-oauth2``.
"""

from __future__ import annotations

from tests.differential.steps import SU, USERS, Step, step

DOWN = "http://127.0.0.1:9"  # discard port: nothing listens
SIGN_IN = USERS + "/auth-with-oauth2"
OIDC = {
    "name": "oidc", "clientId": "cid", "clientSecret": "the-secret",
    "authURL": f"{DOWN}/auth", "tokenURL": f"{DOWN}/token", "userInfoURL": f"{DOWN}/userinfo",
    "displayName": "My OIDC", "pkce": True, "extra": {"a": 1},
}  # fmt: skip
STABLE_METHODS = (
    "?fields=oauth2.enabled,oauth2.providers.name,oauth2.providers.displayName,"
    "oauth2.providers.codeChallengeMethod,authProviders.name"
)


def _providers(*providers: dict[str, object], **more: object) -> dict[str, object]:
    return {"oauth2": {"enabled": True, "providers": list(providers), **more}}


OAUTH2_STEPS: list[Step] = [
    step("oauth2: enable with providers", "PATCH", USERS, who=SU, body=_providers(
        OIDC, {"name": "github", "clientId": "gid", "clientSecret": "gsecret"},
        {"name": "google", "clientId": "x", "clientSecret": "y", "pkce": False})),
    step("oauth2: collection hides secrets", "GET", USERS + "?fields=oauth2", who=SU),
    step("oauth2: sent back without secret", "PATCH", USERS + "?fields=oauth2", who=SU,
         body=_providers({k: v for k, v in OIDC.items() if k != "clientSecret"},
                         {"name": "github", "clientId": "gid"})),
    step("oauth2: auth-methods", "GET", USERS + "/auth-methods" + STABLE_METHODS),
    step("oauth2: unknown provider name", "PATCH", USERS, who=SU,
         body=_providers({"name": "nope", "clientId": "x", "clientSecret": "y"})),
    step("oauth2: missing client id", "PATCH", USERS, who=SU, body=_providers({"name": "google"})),
    step("oauth2: duplicated provider", "PATCH", USERS, who=SU,
         body=_providers(*[{"name": "google", "clientId": "x", "clientSecret": "y"}] * 2)),
    step("oauth2: sign-in empty body", "POST", SIGN_IN, body={}),
    step("oauth2: sign-in unknown provider", "POST", SIGN_IN,
         body={"provider": "apple", "code": "x", "redirectURL": "http://x"}),
    step("oauth2: sign-in wrong types", "POST", SIGN_IN,
         body={"provider": 1, "code": "x", "redirectURL": "http://x"}),
    step("oauth2: sign-in createData not an object", "POST", SIGN_IN,
         body={"provider": "oidc", "code": "x", "redirectURL": "http://x", "createData": "x"}),
    step("oauth2: sign-in provider down", "POST", SIGN_IN,
         body={"provider": "oidc", "code": "x", "codeVerifier": "v", "redirectURL": "http://x"}),
    step("oauth2: superusers never", "POST", "/api/collections/_superusers/auth-with-oauth2",
         body={"provider": "oidc", "code": "x", "redirectURL": "http://x"}),
    step("oauth2: disable", "PATCH", USERS + "?fields=oauth2", who=SU,
         body={"oauth2": {"enabled": False, "providers": []}}),
    step("oauth2: sign-in disabled", "POST", SIGN_IN,
         body={"provider": "oidc", "code": "x", "redirectURL": "http://x"}),
    step("oauth2: auth-methods disabled", "GET", USERS + "/auth-methods"),
]  # fmt: skip
