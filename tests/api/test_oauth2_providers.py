"""Every OAuth2 provider, signed in through the HTTP API against the loopback test server
playing that provider's token and user endpoints (``tests/oauth2_shapes.py``).

Each provider's user answer must map to the same id, name, username, email
and avatar as PocketBase reads from it; an email the provider does not vouch
for must never find, link or verify an existing account.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import PASSWORD
from tests.api.scenario import World
from tests.api.worlds import Template
from tests.oauth2_shapes import BY_NAME, FLAGGED, SHAPES, Shape, provider_entries
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OIDCProvider, running_provider

METHODS = "/api/collections/users/auth-methods"
SIGN_IN = "/api/collections/users/auth-with-oauth2"
REDIRECT = "http://localhost:5173/oauth-callback"
NO_PKCE = {"bitbucket", "vk", "linear"}


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCProvider]:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def template(
    base: Template, tmp_path_factory: pytest.TempPathFactory, provider: OIDCProvider
) -> Iterator[Template]:
    """Users may sign in with every provider; their email is optional (several give none)."""

    def setup(world: World) -> None:
        users = world.request("GET", "/api/collections/users", "superuser").json()
        fields = [{**f, "required": False} if f["name"] == "email" else f for f in users["fields"]]
        oauth2 = {"enabled": True, "mappedFields": {"name": "name"},
                  "providers": provider_entries(provider.url, CLIENT_ID, CLIENT_SECRET)}  # fmt: skip
        answer = world.request("PATCH", "/api/collections/users", "superuser",
                               json={"fields": fields, "oauth2": oauth2})  # fmt: skip
        assert answer.status_code == 200, answer.text

    data_dir = tmp_path_factory.mktemp("oauth2-providers") / "kb_data"
    with base.extend(data_dir, setup) as extended:
        yield extended


def sign_in(world: World, provider: OIDCProvider, shape: Shape, email: str, verified: bool,
            auth: str = "", **extra: Any) -> httpx.Response:  # fmt: skip
    """Consent at the provider (as a browser), then exchange the code."""
    provider.next_user = shape.user(email, verified)
    provider.emails = shape.emails(email, verified) if shape.emails else []
    provider.token_extra = shape.token_extra(email)
    entry = next(p for p in world.client.get(METHODS).json()["oauth2"]["providers"]
                 if p["name"] == shape.name)  # fmt: skip
    back = httpx.get(entry["authURL"] + REDIRECT)
    assert back.status_code == 302, back.text
    code = httpx.URL(back.headers["location"]).params["code"]
    body = {"provider": shape.name, "code": code, "codeVerifier": entry["codeVerifier"],
            "redirectURL": REDIRECT, **extra}  # fmt: skip
    headers = {"Authorization": world.tokens[auth]} if auth else {}
    provider.api_requests.clear()
    return world.client.post(SIGN_IN, json=body, headers=headers)


def expected_email(shape: Shape, email: str, verified: bool) -> str:
    if shape.email == "none" or (shape.email == "flag" and not verified):
        return ""
    return email


@pytest.mark.parametrize("name", [shape.name for shape in SHAPES])
def test_provider_user_is_mapped_as_pocketbase_maps_it(
    world: World, provider: OIDCProvider, name: str
) -> None:
    shape = BY_NAME[name]
    email = f"{name}@example.com"
    answer = sign_in(world, provider, shape, email, True)
    assert answer.status_code == 200, answer.text
    meta, record = answer.json()["meta"], answer.json()["record"]
    got = {k: meta[k] for k in ("id", "name", "username", "email", "avatarURL")}
    assert got == {"id": shape.id, "name": shape.display, "username": shape.username,
                   "email": expected_email(shape, email, True), "avatarURL": shape.avatar}  # fmt: skip
    assert meta["isNew"] is True and meta["avatarUrl"] == shape.avatar
    assert meta["accessToken"] and meta["refreshToken"].startswith("refresh-")
    raw = shape.user(email, True)
    if name != "apple":  # Apple's user is the id_token's claims (iss, aud, iat, exp and these)
        assert meta["rawUser"] == {**shape.token_extra(email), **raw} if name == "instagram2" \
            else meta["rawUser"] == raw  # fmt: skip
    assert {k: meta["rawUser"][k] for k in raw} == raw
    assert record["email"] == got["email"] and record["verified"] is True
    assert record["name"] == shape.display
    # The user request had the provider's shape (GraphQL POSTs, extra headers).
    user_requests = [r for r in provider.api_requests if not r.path.endswith("emails")]
    if name != "apple":
        (request,) = user_requests
        assert request.method == shape.method
        for header, value in shape.headers.items():
            assert request.headers.get(header) == value.replace("$clientId", CLIENT_ID)
        if shape.method == "POST":
            assert request.headers["content-type"] == "application/json"
            assert b'"query"' in request.body
    # The same account again signs in to the same record, through its link.
    again = sign_in(world, provider, shape, email, True)
    assert again.status_code == 200, again.text
    assert again.json()["record"]["id"] == record["id"] and again.json()["meta"]["isNew"] is False


def test_auth_methods_list_every_provider_with_its_logo_and_pkce(world: World) -> None:
    catalog = world.request("GET", "/api/collections/meta/oauth2-providers", "superuser").json()
    logos = {entry["name"]: entry for entry in catalog}
    listed = world.client.get(METHODS).json()
    assert [p["name"] for p in listed["oauth2"]["providers"]] == [s.name for s in SHAPES]
    for entry in listed["oauth2"]["providers"]:
        assert entry["displayName"] == logos[entry["name"]]["displayName"]
        assert entry["logo"] == logos[entry["name"]]["logo"] and entry["logo"].startswith("<svg")
        url = httpx.URL(entry["authURL"])
        if entry["name"] in NO_PKCE:
            assert entry["codeVerifier"] == entry["codeChallengeMethod"] == ""
            assert "code_challenge" not in url.params
        else:
            assert entry["codeChallengeMethod"] == "S256"
            assert url.params["code_challenge"] == entry["codeChallenge"]
        assert (url.params.get("response_mode") == "form_post") == (entry["name"] == "apple")
    assert all(p["logo"] == "" for p in listed["authProviders"]), "legacy list has no logos"


@pytest.mark.parametrize("name", FLAGGED)
def test_unverified_email_never_links_an_existing_account(
    world: World, provider: OIDCProvider, name: str
) -> None:
    shape = BY_NAME[name]
    answer = sign_in(world, provider, shape, "user1@example.com", False)
    assert answer.status_code == 200, answer.text
    meta, record = answer.json()["meta"], answer.json()["record"]
    assert meta["email"] == "" and meta["isNew"] is True
    assert record["id"] != world.ids["user1"] and record["email"] == ""
    links = world.request("GET", "/api/collections/_externalAuths/records", "superuser").json()
    assert [i["recordRef"] for i in links["items"]] == [record["id"]]
    # user1 keeps its password and stays unverified.
    signed = world.client.post("/api/collections/users/auth-with-password",
                               json={"identity": "user1@example.com", "password": PASSWORD})  # fmt: skip
    assert signed.status_code == 200 and signed.json()["record"]["verified"] is False


# One of each way to vouch: a flag, a shown-only-when-confirmed address, the token
# answer (VK), an emails list (GitHub); the email mapping itself is checked above.
@pytest.mark.parametrize("name", ["discord", "box", "vk", "github"])
def test_vouched_email_links_the_existing_account(
    world: World, provider: OIDCProvider, name: str
) -> None:
    shape = BY_NAME[name]
    answer = sign_in(world, provider, shape, "user1@example.com", True)
    assert answer.status_code == 200, answer.text
    record = answer.json()["record"]
    assert record["id"] == world.ids["user1"] and answer.json()["meta"]["isNew"] is False
    assert record["verified"] is True


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("bitbucket", {"account_status": "closed"}),
        ("gitea", {"active": False}),
        ("box", {"status": "inactive"}),
        ("mailcow", {"active": 0}),
        ("planningcenter", {"data": {"id": "pc-1", "attributes": {"status": "inactive"}}}),
        ("linear", {"data": {"viewer": {"id": "lin-1", "active": False}}}),
        ("monday", {"data": {"me": {"id": "1", "enabled": False}}}),
        ("twitch", {"data": []}),
        ("vk", {"response": []}),
    ],
)
def test_inactive_or_missing_accounts_are_refused(
    world: World, provider: OIDCProvider, name: str, change: dict[str, Any]
) -> None:
    shape = BY_NAME[name]
    refused = Shape(name, lambda e, v: {**shape.user(e, v), **change}, shape.id,
                    pkce=shape.pkce, token_extra=shape.token_extra)  # fmt: skip
    answer = sign_in(world, provider, refused, f"{name}@example.com", True)
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"data": {}, "message": "Failed to fetch OAuth2 user.", "status": 400}


@pytest.mark.parametrize("name", ["github", "gitea", "gitee"])
def test_emails_endpoint_without_access_leaves_the_email_empty(
    world: World, provider: OIDCProvider, name: str
) -> None:
    provider.emails_status = 403
    try:
        answer = sign_in(world, provider, BY_NAME[name], "user1@example.com", True)
    finally:
        provider.emails_status = 200
    assert answer.status_code == 200, answer.text
    assert (
        answer.json()["meta"]["email"] == "" and answer.json()["record"]["id"] != world.ids["user1"]
    )


def test_gitee_valid_user_email_needs_no_emails_request(
    world: World, provider: OIDCProvider
) -> None:
    shape = BY_NAME["gitee"]
    direct = Shape("gitee", lambda e, v: {**shape.user(e, v), "email": e}, shape.id)
    answer = sign_in(world, provider, direct, "gitee-direct@example.com", False)
    assert answer.status_code == 200, answer.text
    assert answer.json()["meta"]["email"] == "gitee-direct@example.com"
    assert [r.path for r in provider.api_requests] == ["/api/gitee/user"]


def test_an_email_sent_in_create_data_is_kept_unverified(
    world: World, provider: OIDCProvider
) -> None:
    """As PocketBase: a provider without an email can still sign users up with one."""
    answer = sign_in(world, provider, BY_NAME["spotify"], "ignored@example.com", True,
                     createData={"email": "fan@example.com"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    record = answer.json()["record"]
    assert (record["email"], record["verified"]) == ("fan@example.com", False)
    taken = sign_in(world, provider, BY_NAME["strava"], "", True,
                    createData={"email": "user1@example.com"})  # fmt: skip
    assert taken.status_code == 400, "someone else's address is not taken over"
    assert taken.json()["data"]["email"]["code"] == "validation_not_unique"


@pytest.mark.parametrize(
    ("claim", "claims", "email"),
    [
        ("verified_primary_email", {"verified_primary_email": "ms@example.com"}, "ms@example.com"),
        ("email_and_xms_edov", {"email": "ms@example.com", "xms_edov": True}, "ms@example.com"),
        ("email_and_xms_edov", {"email": "ms@example.com", "xms_edov": False}, ""),
        ("any_verified", {"email": "ms@example.com", "xms_edov": "1"}, "ms@example.com"),
        ("email", {"email": "ms@example.com"}, "ms@example.com"),
        ("nonsense", {"email": "ms@example.com", "xms_edov": True}, ""),
    ],
)
def test_microsoft_email_from_the_id_token_by_choice(
    world: World, provider: OIDCProvider, claim: str, claims: dict[str, Any], email: str
) -> None:
    entries = provider_entries(provider.url, CLIENT_ID, CLIENT_SECRET)
    for entry in entries:
        if entry["name"] == "microsoft":
            entry["extra"] = {"idTokenEmailClaim": claim}
    answer = world.request("PATCH", "/api/collections/users", "superuser",
                           json={"oauth2": {"providers": entries}})  # fmt: skip
    assert answer.status_code == 200, answer.text
    listed = world.client.get(METHODS).json()["oauth2"]["providers"]
    scope = next(
        httpx.URL(p["authURL"]).params["scope"] for p in listed if p["name"] == "microsoft"
    )
    assert scope == "User.Read openid"  # any choice asks for an id_token
    shape = BY_NAME["microsoft"]
    # The fake provider puts the user's fields in the id_token's claims too.
    with_claims = Shape("microsoft", lambda e, v: {**shape.user(e, v), **claims}, shape.id)
    signed = sign_in(world, provider, with_claims, "graph-mail@example.com", True)
    assert signed.status_code == 200, signed.text
    assert signed.json()["meta"]["email"] == email
