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
EVERY_PROVIDER = [
    "apple", "google", "microsoft", "yandex", "facebook", "instagram2", "github", "gitlab",
    "bitbucket", "gitee", "gitea", "discord", "twitter", "kakao", "vk", "linear", "notion",
    "monday", "lark", "box", "spotify", "trakt", "twitch", "patreon", "strava", "wakatime",
    "livechat", "mailcow", "planningcenter", "oidc", "oidc2", "oidc3",
]  # fmt: skip
CATALOGUE = "/api/collections/meta/oauth2-providers"
APPLE_SECRET = "/api/settings/apple/generate-client-secret"
BAD_PEM = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"
APPLE_FORM = {"clientId": "com.example.app", "teamId": "ABCDEFGHIJ", "keyId": "KEYID12345",
              "privateKey": BAD_PEM, "duration": 3600}  # fmt: skip
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
    step("oauth2: providers catalogue as guest", "GET", CATALOGUE),
    step("oauth2: providers catalogue as user", "GET", CATALOGUE, who="user1"),
    step("oauth2: providers catalogue", "GET", CATALOGUE, who=SU),
    step("oauth2: every provider enabled", "PATCH", USERS + "?fields=oauth2", who=SU,
         body=_providers(*[{"name": n, "clientId": "cid", "clientSecret": "s"}
                           for n in EVERY_PROVIDER])),
    step("oauth2: every provider in auth-methods", "GET", USERS + "/auth-methods?fields="
         "oauth2.providers.name,oauth2.providers.displayName,oauth2.providers.logo,"
         "oauth2.providers.codeChallengeMethod,authProviders.name,authProviders.logo"),
    step("oauth2: provider URL not a URL", "PATCH", USERS, who=SU, body=_providers(
        {"name": "discord", "clientId": "a", "clientSecret": "b", "authURL": "not a url",
         "tokenURL": "ftp://x", "userInfoURL": "example.com/x"})),
    step("oauth2: apple secret as guest", "POST", APPLE_SECRET, body=APPLE_FORM),
    step("oauth2: apple secret as user", "POST", APPLE_SECRET, who="user1", body=APPLE_FORM),
    step("oauth2: apple secret empty", "POST", APPLE_SECRET, who=SU, body={}),
    step("oauth2: apple secret bad values", "POST", APPLE_SECRET, who=SU, body={
        "clientId": "x", "teamId": "123", "keyId": "12345678901", "privateKey": "nope",
        "duration": 99999999}),
    step("oauth2: apple secret negative duration", "POST", APPLE_SECRET, who=SU,
         body={**APPLE_FORM, "duration": -5, "clientId": ""}),
    step("oauth2: apple secret wrong type", "POST", APPLE_SECRET, who=SU,
         body={**APPLE_FORM, "duration": 1.5}),
    step("oauth2: apple secret key not PEM", "POST", APPLE_SECRET, who=SU, body=APPLE_FORM),
    step("oauth2: disable", "PATCH", USERS + "?fields=oauth2", who=SU,
         body={"oauth2": {"enabled": False, "providers": []}}),
    step("oauth2: sign-in disabled", "POST", SIGN_IN,
         body={"provider": "oidc", "code": "x", "redirectURL": "http://x"}),
    step("oauth2: auth-methods disabled", "GET", USERS + "/auth-methods"),
]  # fmt: skip
