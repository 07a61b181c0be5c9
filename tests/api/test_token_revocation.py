"""Tokens end when what signed them changes: the record's password or the collection's secret."""

from __future__ import annotations

from tests.api.conftest import PASSWORD
from tests.api.scenario import World


def sign_in(world: World, email: str, password: str = PASSWORD) -> str:
    signed = world.client.post(
        "/api/collections/users/auth-with-password", json={"identity": email, "password": password}
    )
    assert signed.status_code == 200, signed.text
    return str(signed.json()["token"])


def test_rotating_the_auth_token_secret_ends_every_token(world: World) -> None:
    token = sign_in(world, "user2@example.com")
    me = f"/api/collections/users/records/{world.ids['user2']}"
    refresh = "/api/collections/users/auth-refresh"
    assert world.client.get(me, headers={"Authorization": token}).status_code == 200
    rotated = world.request(
        "PATCH",
        "/api/collections/users",
        "superuser",
        json={"authToken": {"secret": "a-brand-new-secret-of-fifty-characters-or-so-12345"}},
    )
    assert rotated.status_code == 200, rotated.text
    assert world.client.get(me, headers={"Authorization": token}).status_code == 404
    assert world.client.post(refresh, headers={"Authorization": token}).status_code == 401
    fresh = sign_in(world, "user2@example.com")
    assert world.client.get(me, headers={"Authorization": fresh}).status_code == 200
    # the other auth collections keep their tokens
    superuser = world.tokens["superuser"]
    assert (
        world.client.get("/api/settings", headers={"Authorization": superuser}).status_code == 200
    )


def test_password_change_ends_tokens_kept_for_refresh(world: World) -> None:
    email = "rotator@example.com"
    created = world.request(
        "POST",
        "/api/collections/users/records",
        json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD},
    )
    assert created.status_code == 200, created.text
    first, second = sign_in(world, email), sign_in(world, email)
    changed = world.request(
        "PATCH",
        f"/api/collections/users/records/{created.json()['id']}",
        "superuser",
        json={"password": "An0therPassw0rd", "passwordConfirm": "An0therPassw0rd"},
    )
    assert changed.status_code == 200, changed.text
    for token in (first, second):
        refreshed = world.client.post(
            "/api/collections/users/auth-refresh", headers={"Authorization": token}
        )
        assert refreshed.status_code == 401


def test_email_change_by_a_superuser_ends_tokens_and_keeps_verified(world: World) -> None:
    created = world.request(
        "POST",
        "/api/collections/users/records",
        "superuser",
        json={"email": "mover@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD,
              "verified": True},
    )  # fmt: skip
    assert created.status_code == 200, created.text
    token = sign_in(world, "mover@example.com")
    moved = world.request(
        "PATCH",
        f"/api/collections/users/records/{created.json()['id']}",
        "superuser",
        json={"email": "moved@example.com"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["verified"] is True  # as PocketBase: only the token key changes
    refresh = world.client.post(
        "/api/collections/users/auth-refresh", headers={"Authorization": token}
    )
    assert refresh.status_code == 401
    assert sign_in(world, "moved@example.com")
