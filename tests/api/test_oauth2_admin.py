"""The superuser OAuth2 endpoints: the providers' catalogue and Apple's client secret.

Messages, codes and the catalogue are PocketBase 0.40's (checked against it in
``tests/differential/steps_oauth2.py``).
"""

from __future__ import annotations

import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.api.scenario import Scenario, World, params, run

PROVIDERS = "/api/collections/meta/oauth2-providers"
SECRET = "/api/settings/apple/generate-client-secret"
# PocketBase 0.40.6's answer, in its order.
POCKETBASE_NAMES = [
    "apple", "google", "microsoft", "yandex", "facebook", "instagram2", "github", "gitlab",
    "bitbucket", "gitee", "gitea", "discord", "twitter", "kakao", "vk", "linear", "notion",
    "monday", "lark", "box", "spotify", "trakt", "twitch", "patreon", "strava", "wakatime",
    "livechat", "mailcow", "planningcenter", "oidc", "oidc2", "oidc3",
]  # fmt: skip
INVALID = "Invalid client secret data."
FAILED = "Failed to generate client secret. Raw error: \n"


def pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


P256 = ec.generate_private_key(ec.SECP256R1())
P384_PEM = pem(ec.generate_private_key(ec.SECP384R1()))
RSA_PEM = pem(rsa.generate_private_key(65537, 2048))
GOOD = {"clientId": "com.example.app", "teamId": "ABCDEFGHIJ", "keyId": "KEYID12345",
        "privateKey": pem(P256), "duration": 3600}  # fmt: skip
REQUIRED = {"code": "validation_required", "message": "Cannot be blank."}


def _required(*names: str) -> dict[str, object]:
    return {name: REQUIRED for name in names}


SCENARIOS = [
    Scenario("providers as guest is 401", "GET", PROVIDERS, status=401,
             contains={"data": {}, "status": 401}),
    Scenario("providers as user is 403", "GET", PROVIDERS, who="user1", status=403,
             contains={"data": {}, "status": 403}),
    Scenario("providers as superuser", "GET", PROVIDERS + "?fields=name", who="superuser",
             contains=[{"name": name} for name in POCKETBASE_NAMES]),
    Scenario("provider URLs must be URLs", "PATCH", "/api/collections/users", who="superuser",
             body={"oauth2": {"enabled": True, "providers": [
                 {"name": "discord", "clientId": "a", "clientSecret": "b", "authURL": "not a url",
                  "tokenURL": "ftp://x", "userInfoURL": "example.com/x"}]}},
             status=400, contains={"message": "Failed to update collection.", "data": {
                 "oauth2": {"providers": {"0": {"authURL": {
                     "code": "validation_is_url", "message": "Must be a valid URL."}}}}}}),
    Scenario("every provider name is accepted", "PATCH", "/api/collections/users?fields=oauth2",
             who="superuser", body={"oauth2": {"enabled": True, "providers": [
                 {"name": name, "clientId": "a", "clientSecret": "b"}
                 for name in POCKETBASE_NAMES]}},
             after=(Scenario("listed in auth-methods", "GET",
                             "/api/collections/users/auth-methods?fields=oauth2.providers.name",
                             contains={"oauth2": {"providers": [
                                 {"name": name} for name in POCKETBASE_NAMES]}}),)),
    Scenario("secret as guest is 401", "POST", SECRET, body=GOOD, status=401),
    Scenario("secret as user is 403", "POST", SECRET, who="user1", body=GOOD, status=403),
    Scenario("secret without a body", "POST", SECRET, who="superuser", status=400,
             contains={"message": INVALID, "data": _required(
                 "clientId", "teamId", "keyId", "privateKey", "duration")}),
    Scenario("secret with nulls and zero", "POST", SECRET, who="superuser", status=400,
             body={"clientId": None, "teamId": None, "duration": 0},
             contains={"data": _required("clientId", "teamId", "duration")}),
    Scenario("secret with bad values", "POST", SECRET, who="superuser", status=400,
             body={**GOOD, "teamId": "123", "keyId": "12345678901", "privateKey": "nope",
                   "duration": 99999999},
             contains={"message": INVALID, "data": {
                 "teamId": {"code": "validation_length_invalid",
                            "params": {"max": 10, "min": 10}},
                 "keyId": {"code": "validation_length_invalid"},
                 "privateKey": {"code": "validation_match_invalid",
                                "message": "Must be in a valid format."},
                 "duration": {"code": "validation_max_less_equal_than_required",
                              "message": "Must be no greater than 15777000.",
                              "params": {"threshold": 15777000}}}},
             absent=("clientId",)),
    Scenario("secret with a negative duration", "POST", SECRET, who="superuser", status=400,
             body={**GOOD, "duration": -5},
             contains={"data": {"duration": {
                 "code": "validation_min_greater_equal_than_required",
                 "message": "Must be no less than 1.", "params": {"threshold": 1}}}}),
    Scenario("secret with wrong types", "POST", SECRET, who="superuser", status=400,
             body={**GOOD, "clientId": 1},
             contains={"message": "An error occurred while loading the submitted data."}),
    Scenario("secret with a fractional duration", "POST", SECRET, who="superuser", status=400,
             body={**GOOD, "duration": 1.5},
             contains={"message": "An error occurred while loading the submitted data."}),
    Scenario("secret with malformed JSON", "POST", SECRET, who="superuser", status=400,
             raw=b"[1", contains={"message": "An error occurred while loading the submitted data."}),
    Scenario("secret with a key that is not PEM", "POST", SECRET, who="superuser", status=400,
             body={**GOOD, "privateKey": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"},
             contains={"data": {}, "message": FAILED
                       + "invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key."}),
    Scenario("secret with an RSA key", "POST", SECRET, who="superuser", status=400,
             body={**GOOD, "privateKey": RSA_PEM},
             contains={"message": FAILED + "key is not a valid ECDSA private key."}),
    Scenario("secret with a P-384 key", "POST", SECRET, who="superuser", status=400,
             body={**GOOD, "privateKey": P384_PEM},
             contains={"message": FAILED + "key is invalid."}),
]  # fmt: skip


@params(SCENARIOS)
def test_scenarios(world: World, scenario: Scenario) -> None:
    run(world, scenario)


def test_catalogue_has_every_provider_once_with_a_logo(world: World) -> None:
    listed = world.request("GET", PROVIDERS, "superuser").json()
    assert [entry["name"] for entry in listed] == POCKETBASE_NAMES
    assert all(set(entry) == {"name", "displayName", "logo"} for entry in listed)
    assert all(entry["logo"].startswith("<svg") and entry["displayName"] for entry in listed)


def test_secret_is_an_es256_jwt_apple_accepts(world: World) -> None:
    before = int(time.time())
    answer = world.request("POST", SECRET, "superuser", json=GOOD)
    assert answer.status_code == 200, answer.text
    assert list(answer.json()) == ["secret"]
    public = ECKey.import_key(P256.public_key())
    token = jwt.decode(answer.json()["secret"], public, algorithms=["ES256"])
    assert token.header == {"alg": "ES256", "kid": "KEYID12345", "typ": "JWT"}
    claims = token.claims
    assert (claims["iss"], claims["sub"]) == ("ABCDEFGHIJ", "com.example.app")
    assert claims["aud"] == ["https://appleid.apple.com"]
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == 3600
    # The same key as a form post, the duration as digits; the secret differs in time only.
    form = world.client.post(SECRET, headers=world.headers("superuser"),
                             data={**GOOD, "duration": "60"})  # fmt: skip
    assert form.status_code == 200, form.text
    assert GOOD["privateKey"] not in form.text


def test_providers_sent_again_update_only_what_they_name(world: World) -> None:
    """PocketBase merges a provider sent again (by name) into the stored one."""

    def patch(*providers: dict[str, object]) -> dict[str, object]:
        answer = world.request("PATCH", "/api/collections/users?fields=oauth2.providers",
                               "superuser", json={"oauth2": {"enabled": True,
                                                             "providers": list(providers)}})  # fmt: skip
        return answer.json()  # type: ignore[no-any-return]

    patch({"name": "oidc", "clientId": "a", "clientSecret": "b", "authURL": "http://x/a",
           "displayName": "My", "pkce": False, "extra": {"k": 1}},
          {"name": "github", "clientId": "g", "clientSecret": "h"})  # fmt: skip
    reordered = patch({"name": "github", "clientId": "g2"}, {"name": "oidc", "clientId": "a2"})
    oidc = reordered["oauth2"]["providers"][1]  # type: ignore[index]
    assert oidc == {"name": "oidc", "clientId": "a2", "authURL": "http://x/a", "tokenURL": "",
                    "userInfoURL": "", "displayName": "My", "extra": {"k": 1}, "pkce": False}  # fmt: skip
    changed = patch({"name": "oidc", "authURL": "", "extra": {"j": 2}, "pkce": None})
    oidc = changed["oauth2"]["providers"][0]  # type: ignore[index]
    assert (oidc["authURL"], oidc["extra"], oidc["pkce"]) == ("", {"j": 2, "k": 1}, None)
    assert (
        patch({"name": "oidc", "extra": None, "displayName": None})["oauth2"]["providers"][0][  # type: ignore[index]
            "extra"
        ]
        == {}
    )
    refused = patch({"name": "google", "clientId": "z"}, {"name": "oidc", "clientSecret": ""})
    assert refused["data"] == {"oauth2": {"providers": {  # a new one needs its secret; "" is none
        "0": {"clientSecret": {"code": "validation_required", "message": "Cannot be blank."}},
        "1": {"clientSecret": {"code": "validation_required", "message": "Cannot be blank."}},
    }}}  # fmt: skip
