"""Password auth, tokens, refresh and auth-methods."""

from __future__ import annotations

import time

import jwt

from tests.api.conftest import ADMIN, PASSWORD
from tests.api.scenario import Scenario, World, params, run

AUTH = "/api/collections/_superusers/auth-with-password"

# fmt: off
SCENARIOS = [
    Scenario("superuser sign-in", "POST", AUTH, body={"identity": ADMIN[0], "password": ADMIN[1]},
             contains={"record": {"email": ADMIN[0], "collectionName": "_superusers", "verified": True}},
             events={"*": 0, "request": 1, "record_auth": 1}),
    Scenario("wrong password", "POST", AUTH, body={"identity": ADMIN[0], "password": "wrong"}, status=400,
             contains={"message": "Failed to authenticate.", "data": {}}, events={"*": 0, "request": 1}),
    Scenario("unknown identity", "POST", AUTH, body={"identity": "x@example.com", "password": "x"},
             status=400, contains={"message": "Failed to authenticate."}),
    Scenario("missing fields", "POST", AUTH, body={}, status=400, contains={
        "message": "An error occurred while validating the submitted data.",
        "data": {"identity": {"code": "validation_required"}, "password": {"code": "validation_required"}}}),
    Scenario("wrong types", "POST", AUTH, body={"identity": 123, "password": True}, status=400,
             contains={"message": "An error occurred while loading the submitted data."}),
    Scenario("identityField not allowed", "POST", AUTH,
             body={"identity": ADMIN[0], "password": ADMIN[1], "identityField": "id"}, status=400,
             contains={"data": {"identityField": {"code": "validation_in_invalid"}}}),
    Scenario("malformed JSON", "POST", AUTH, raw=b'{"identity": ', status=400,
             contains={"message": "An error occurred while loading the submitted data."}),
    Scenario("not JSON content type", "POST", AUTH, raw=b'{"identity": "a"}', content_type="text/plain",
             status=400, contains={"message": "Unsupported Content-Type."}),
    Scenario("unknown auth collection", "POST", "/api/collections/nope/auth-with-password",
             body={"identity": "a", "password": "b"}, status=404,
             contains={"message": "Missing or invalid collection context."}),
    Scenario("non-auth collection", "GET", "/api/collections/_mfas/auth-methods", status=404),
    Scenario("refresh without token", "POST", "/api/collections/users/auth-refresh", status=401),
    Scenario("refresh", "POST", "/api/collections/users/auth-refresh", who="user1",
             contains={"record": {"id": "$user1", "email": "user1@example.com"}},
             events={"*": 0, "request": 1, "record_auth": 1}),
    Scenario("refresh on the wrong collection", "POST", "/api/collections/_superusers/auth-refresh",
             who="user1", status=403,
             contains={"message": "The request requires auth record from users collection."}),
    Scenario("auth-methods", "GET", "/api/collections/users/auth-methods", contains={
        "password": {"enabled": True, "identityFields": ["email"]}, "emailPassword": True,
        "oauth2": {"enabled": False, "providers": []}}),
    Scenario("fields on auth answers", "POST", AUTH + "?fields=token",
             body={"identity": ADMIN[0], "password": ADMIN[1]}, absent=("record",)),
]
# fmt: on


@params(SCENARIOS)
def test_auth(world: World, scenario: Scenario) -> None:
    run(world, scenario)


def test_token_claims_and_duration(world: World) -> None:
    token = world.tokens["user1"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"collectionId", "exp", "id", "refreshable", "type"}
    assert claims["type"] == "auth" and claims["refreshable"] is True
    assert claims["id"] == world.ids["user1"]
    assert abs(claims["exp"] - time.time() - 432000) < 60


def test_bearer_prefix_and_forged_tokens(world: World) -> None:
    me = f"/api/collections/users/records/{world.ids['user1']}"
    assert (
        world.client.get(
            me, headers={"Authorization": "Bearer " + world.tokens["user1"]}
        ).status_code
        == 200
    )
    claims = jwt.decode(world.tokens["user1"], options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-signing-key-of-this-record-at-all", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    expired = jwt.encode(
        {**claims, "exp": int(time.time()) - 10},
        "an-expired-token-signed-with-any-key-at-all",
        algorithm="HS256",
    )
    for token in (forged, unsigned, expired, "garbage", "a.b.c"):
        # an invalid token is ignored: the request goes on as a guest
        response = world.client.get(me, headers={"Authorization": token})
        assert response.status_code == 404, token
        assert (
            world.client.get("/api/collections", headers={"Authorization": token}).status_code
            == 401
        )


def test_password_change_ends_earlier_tokens(world: World) -> None:
    email = "changer@example.com"
    created = world.request(
        "POST",
        "/api/collections/users/records",
        json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD},
    )
    assert created.status_code == 200, created.text
    record_id = created.json()["id"]
    old = world.client.post(
        "/api/collections/users/auth-with-password", json={"identity": email, "password": PASSWORD}
    ).json()["token"]
    me = f"/api/collections/users/records/{record_id}"
    assert world.client.get(me, headers={"Authorization": old}).status_code == 200
    changed = world.client.patch(
        me,
        headers={"Authorization": old},
        json={
            "oldPassword": PASSWORD,
            "password": "An0therPassw0rd",
            "passwordConfirm": "An0therPassw0rd",
        },
    )
    assert changed.status_code == 200, changed.text
    assert world.client.get(me, headers={"Authorization": old}).status_code == 404
    fresh = world.client.post(
        "/api/collections/users/auth-with-password",
        json={"identity": email, "password": "An0therPassw0rd"},
    )
    assert fresh.status_code == 200
    assert (
        world.client.post(
            "/api/collections/users/auth-with-password",
            json={"identity": email, "password": PASSWORD},
        ).status_code
        == 400
    )


def test_sign_up_errors(world: World) -> None:
    url = "/api/collections/users/records"
    mismatch = world.client.post(
        url, json={"email": "bad", "password": "short", "passwordConfirm": "other"}
    )
    assert mismatch.status_code == 400
    assert mismatch.json()["data"] == {
        "passwordConfirm": {"code": "validation_values_mismatch", "message": "Values don't match."}
    }
    short = world.client.post(
        url, json={"email": "bad", "password": "short", "passwordConfirm": "short"}
    )
    assert set(short.json()["data"]) == {"email", "password"}
    duplicate = world.client.post(
        url, json={"email": "user1@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD}
    )
    assert duplicate.json()["data"]["email"]["code"] == "validation_not_unique"


def test_bcrypt_hash_from_pocketbase_verifies_and_is_upgraded(world: World) -> None:
    import bcrypt

    app = world.client.app.state.keelbase  # type: ignore[attr-defined]
    email = "legacy@example.com"
    legacy = bcrypt.hashpw(b"LegacyPassw0rd", bcrypt.gensalt(rounds=10)).decode()
    created = world.request(
        "POST",
        "/api/collections/users/records",
        json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD},
    )
    record_id = created.json()["id"]

    async def set_hash() -> None:
        async with app.store.transaction() as conn:
            await conn.execute(
                'UPDATE "users" SET "password" = :h WHERE "id" = :id',
                {"h": legacy, "id": record_id},
            )

    world.client.portal.call(set_hash)  # type: ignore[union-attr]
    signed = world.client.post(
        "/api/collections/users/auth-with-password",
        json={"identity": email, "password": "LegacyPassw0rd"},
    )
    assert signed.status_code == 200, signed.text

    async def read_hash() -> str:
        async with app.store.read() as conn:
            return str(
                await conn.fetch_value(
                    'SELECT "password" FROM "users" WHERE "id" = :id', {"id": record_id}
                )
            )

    assert world.client.portal.call(read_hash).startswith("$argon2id$")  # type: ignore[union-attr]
