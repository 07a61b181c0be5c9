"""Every OAuth2 provider, PocketBase vs Keelbase: both sign in through the same loopback
server playing that provider (``tests/oauth2_shapes.py``), and must read the same user.

Left out: Apple (PocketBase checks its ``id_token`` against Apple's own keys,
which no test can sign for) and Gitee's emails list (PocketBase asks gitee.com
itself); Keelbase's own tests cover both. Two differ on purpose (``docs/auth.md``):
Keelbase never takes Microsoft Graph's unverified ``mail`` as the email, and it
reads Planning Center's ``data.attributes``, which PocketBase 0.40 looks for as
``Attributes`` (an untagged field under the case-sensitive ``encoding/json/v2``),
so that there every Planning Center sign-in fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.differential.runner import Side
from tests.oauth2_shapes import SHAPES, Shape, provider_entries
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OIDCProvider, running_provider

pytestmark = pytest.mark.e2e

USERS = "/api/collections/users"
REDIRECT = "http://localhost:5173/oauth-callback"
SKIPPED = {"apple"}
CASES = [
    pytest.param(shape, verified, id=f"{shape.name}-{'verified' if verified else 'unverified'}")
    for shape in SHAPES
    if shape.name not in SKIPPED
    for verified in ((True, False) if shape.email == "flag" and shape.name != "gitee" else (True,))
]
MAPPED = ("id", "name", "username", "email", "avatarURL", "avatarUrl", "isNew", "rawUser")


@pytest.fixture(scope="module")
def store() -> str:
    """SQLite only: reading a provider's user does not depend on the store (the API tests
    sign every provider in on both), and each store costs a pair of servers."""
    return ""


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCProvider]:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def configured(sides: tuple[Side, Side], provider: OIDCProvider) -> tuple[Side, Side]:
    """Both servers' users sign in with every provider; email optional (several give none)."""
    entries = [e for e in provider_entries(provider.url, CLIENT_ID, CLIENT_SECRET)
               if e["name"] not in SKIPPED]  # fmt: skip
    for side in sides:
        headers = {"Authorization": side.values["superuser_token"]}
        users = side.client.get(USERS, headers=headers).json()
        fields = [{**f, "required": False} if f["name"] == "email" else f for f in users["fields"]]
        body = {"fields": fields, "oauth2": {"enabled": True, "providers": entries,
                                             "mappedFields": {"name": "name"}}}  # fmt: skip
        answer = side.client.patch(USERS, headers=headers, json=body)
        assert answer.status_code == 200, f"{side.label}: {answer.text}"
    return sides


def sign_in(
    side: Side,
    provider: OIDCProvider,
    shape: Shape,
    email: str,
    verified: bool,
    token: str = "",
    **extra: Any,
) -> httpx.Response:
    user = shape.user(email, verified)
    if shape.name == "gitee":  # its valid email is used as is, without asking gitee.com
        user = {**user, "email": email}
    provider.next_user = user
    provider.emails = shape.emails(email, verified) if shape.emails else []
    provider.token_extra = shape.token_extra(email)
    methods = side.client.get(USERS + "/auth-methods").json()["oauth2"]["providers"]
    entry = next(p for p in methods if p["name"] == shape.name)
    back = httpx.get(entry["authURL"] + REDIRECT)
    assert back.status_code == 302, back.text
    code = httpx.URL(back.headers["location"]).params["code"]
    return side.client.post(USERS + "/auth-with-oauth2", json={
        "provider": shape.name, "code": code, "codeVerifier": entry["codeVerifier"],
        "redirectURL": REDIRECT, **extra}, headers={"Authorization": token} if token else {})  # fmt: skip


def signed_in_user(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return {
        "meta": {key: body["meta"][key] for key in MAPPED},
        "record": {key: body["record"][key] for key in ("email", "verified", "name")},
    }


@pytest.mark.parametrize(("shape", "verified"), CASES)
def test_provider_reads_the_same_user(
    configured: tuple[Side, Side], provider: OIDCProvider, shape: Shape, verified: bool
) -> None:
    email = f"{shape.name}-{verified}@example.com".lower()
    answers = [sign_in(side, provider, shape, email, verified) for side in configured]
    if shape.name == "planningcenter":
        assert answers[0].json()["message"] == "Failed to fetch OAuth2 user."
        assert signed_in_user(answers[1])["meta"]["id"] == shape.id
        return
    pocketbase, keelbase = (signed_in_user(answer) for answer in answers)
    if shape.name == "microsoft":
        assert pocketbase["meta"]["email"] == email and keelbase["meta"]["email"] == ""
        for answer in (pocketbase, keelbase):
            answer["meta"].pop("email")
            answer["record"].pop("email")
    assert keelbase == pocketbase


def test_consent_urls_are_the_same(configured: tuple[Side, Side]) -> None:
    """Endpoint, scopes, PKCE and extra parameters, apart from the random state and challenge."""

    def stable(side: Side) -> dict[str, Any]:
        listed = side.client.get(USERS + "/auth-methods").json()["oauth2"]["providers"]
        out = {}
        for entry in listed:
            url = httpx.URL(entry["authURL"])
            params = [(k, v) for k, v in url.params.multi_items()
                      if k not in ("state", "code_challenge")]  # fmt: skip
            out[entry["name"]] = (str(url.copy_with(query=None)), params, entry["displayName"])
        return out

    pocketbase, keelbase = (stable(side) for side in configured)
    assert keelbase == pocketbase


def test_create_data_email_is_kept_unverified(
    configured: tuple[Side, Side], provider: OIDCProvider
) -> None:
    spotify = next(s for s in SHAPES if s.name == "spotify")
    shape = Shape("spotify", lambda e, v: {**spotify.user(e, v), "id": "new-fan"}, "new-fan")
    pocketbase, keelbase = (
        signed_in_user(sign_in(side, provider, shape, "", True,
                               createData={"email": f"fan-{side.label}@example.com"}))
        for side in configured
    )  # fmt: skip
    assert pocketbase["record"] == {**keelbase["record"], "email": "fan-pocketbase@example.com"}
    assert keelbase["record"]["verified"] is False


def test_pre_hijacked_unverified_record_loses_every_way_in(
    configured: tuple[Side, Side], provider: OIDCProvider
) -> None:
    """Someone signs up with the owner's address and links their own provider account; the
    owner's verified sign-in takes the record over, on both servers alike."""

    def account(sub: str) -> Shape:
        return Shape("oidc", lambda e, v: {"sub": sub, "email": e, "email_verified": v}, sub)

    def story(side: Side) -> list[Any]:
        email, password = "victim@example.com", "Passw0rd123"
        created = side.client.post(USERS + "/records", json={
            "email": email, "password": password, "passwordConfirm": password}).json()  # fmt: skip
        token = side.client.post(USERS + "/auth-with-password",
                                 json={"identity": email, "password": password}).json()["token"]  # fmt: skip
        linked = sign_in(side, provider, account("attacker"), "", False, token)
        owner = sign_in(side, provider, account("owner"), email, True)
        attacker = sign_in(side, provider, account("attacker"), "", False)
        by_password = side.client.post(USERS + "/auth-with-password",
                                       json={"identity": email, "password": password})  # fmt: skip
        return [
            linked.json()["record"]["id"] == created["id"],
            owner.json()["record"]["id"] == created["id"],
            owner.json()["record"]["verified"],
            attacker.json()["meta"]["isNew"],
            attacker.json()["record"]["id"] != created["id"],
            by_password.status_code,
        ]

    pocketbase, keelbase = (story(side) for side in configured)
    assert keelbase == pocketbase == [True, True, True, True, True, 400]
