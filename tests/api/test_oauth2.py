"""OAuth2 sign-in through the HTTP API against a real OpenID Connect provider on loopback.

The provider (tests/oidc_provider.py) checks the client secret, the redirect
URI and the PKCE verifier, so a wrong one really fails at the provider.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from keelbase import App
from tests.api.conftest import PASSWORD, png
from tests.api.scenario import World
from tests.api.worlds import Template
from tests.conftest import free_port
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OIDCProvider, running_provider

METHODS = "/api/collections/users/auth-methods"
SIGN_IN = "/api/collections/users/auth-with-oauth2"
REDIRECT = "http://localhost:5173/oauth-callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCProvider]:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def template(
    base: Template, tmp_path_factory: pytest.TempPathFactory, provider: OIDCProvider
) -> Iterator[Template]:
    """Users may sign in through ``provider``."""
    data_dir = tmp_path_factory.mktemp("oauth2") / "kb_data"
    with base.extend(data_dir, lambda world: configure(world, [provider.provider_config()])) as t:
        yield t


def configure(world: World, providers: list[dict[str, Any]], **oauth2: Any) -> None:
    options = {"enabled": True, "providers": providers, **oauth2}
    answer = world.request("PATCH", "/api/collections/users", "superuser", json={"oauth2": options})
    assert answer.status_code == 200, answer.text


def consent(
    world: World, provider: OIDCProvider, user: dict[str, Any], name: str = "oidc"
) -> dict[str, Any]:
    """What a browser does: open the provider's authURL and come back with a code."""
    provider.next_user = user
    methods = world.client.get(METHODS).json()["oauth2"]["providers"]
    entry = next(p for p in methods if p["name"] == name)
    answer = httpx.get(entry["authURL"] + REDIRECT)
    assert answer.status_code == 302, answer.text
    back = httpx.URL(answer.headers["location"])
    assert back.params["state"] == entry["state"]
    return {"provider": name, "code": back.params["code"], "codeVerifier": entry["codeVerifier"],
            "redirectURL": REDIRECT}  # fmt: skip


def sign_in(
    world: World, provider: OIDCProvider, user: dict[str, Any], **extra: Any
) -> httpx.Response:
    body = consent(world, provider, user, extra.pop("name", "oidc"))
    body.update(extra)
    return world.client.post(SIGN_IN, json=body)


def person(sub: str, email: str, verified: bool = True, **more: Any) -> dict[str, Any]:
    return {"sub": sub, "email": email, "email_verified": verified, **more}


def test_auth_methods_lists_enabled_providers(world: World, provider: OIDCProvider) -> None:
    body = world.client.get(METHODS).json()
    assert body["oauth2"]["enabled"] is True
    (entry,) = body["oauth2"]["providers"]
    assert set(entry) == {"name", "displayName", "logo", "state", "authURL", "authUrl",
                          "codeVerifier", "codeChallenge", "codeChallengeMethod"}  # fmt: skip
    assert entry["name"] == "oidc" and entry["displayName"] == "Test OIDC"
    assert len(entry["state"]) == 30 and len(entry["codeVerifier"]) == 43
    assert entry["codeChallenge"] == create_s256_code_challenge(entry["codeVerifier"])
    assert entry["codeChallengeMethod"] == "S256"
    url = httpx.URL(entry["authURL"])
    assert entry["authURL"].startswith(
        f"{provider.url}/authorize?client_id={CLIENT_ID}&code_challenge="
    )
    assert entry["authURL"].endswith("&redirect_uri=") and entry["authUrl"] == entry["authURL"]
    assert list(url.params) == ["client_id", "code_challenge", "code_challenge_method",
                                "response_type", "scope", "state", "redirect_uri"]  # fmt: skip
    assert url.params["scope"] == "openid email profile"
    assert body["authProviders"][0]["state"] == entry["state"]
    again = world.client.get(METHODS).json()["oauth2"]["providers"][0]
    assert again["state"] != entry["state"] and again["codeVerifier"] != entry["codeVerifier"]


def test_client_secret_never_in_answers(world: World, provider: OIDCProvider) -> None:
    for path in ("/api/collections/users", "/api/collections", METHODS):
        answer = world.request("GET", path, "superuser")
        assert answer.status_code == 200
        assert CLIENT_SECRET not in answer.text and "clientSecret" not in answer.text
    shown = world.request("GET", "/api/collections/users", "superuser").json()["oauth2"]
    assert shown["providers"][0]["clientId"] == CLIENT_ID
    # Sent back without its secret (as a dashboard does), the provider keeps it.
    configure(world, shown["providers"])
    assert sign_in(world, provider, person("keep-1", "keep@example.com")).status_code == 200


def test_first_sign_in_creates_then_links(world: World, provider: OIDCProvider) -> None:
    user = person("sub-ann", "ann@example.com", name="Ann Oidc", preferred_username="ann")
    first = sign_in(world, provider, user, createData={"emailVisibility": True})
    assert first.status_code == 200, first.text
    body = first.json()
    assert list(body) == ["meta", "record", "token"]
    record, meta = body["record"], body["meta"]
    assert record["email"] == "ann@example.com" and record["name"] == "Ann Oidc"
    assert record["verified"] is True and record["emailVisibility"] is True
    assert meta["isNew"] is True and meta["id"] == "sub-ann" and meta["username"] == "ann"
    assert meta["email"] == "ann@example.com" and meta["rawUser"] == user
    assert meta["accessToken"] and meta["refreshToken"].startswith("refresh-")
    assert meta["expiry"].endswith("Z") and meta["avatarURL"] == meta["avatarUrl"] == ""
    token = body["token"]
    me = world.client.get(f"/api/collections/users/records/{record['id']}",
                          headers={"Authorization": token})  # fmt: skip
    assert me.status_code == 200
    links = world.client.get("/api/collections/_externalAuths/records",
                             headers={"Authorization": token}).json()["items"]  # fmt: skip
    assert [(x["provider"], x["providerId"], x["recordRef"]) for x in links] == [
        ("oidc", "sub-ann", record["id"])]  # fmt: skip

    second = sign_in(world, provider, {**user, "email": "changed@example.com"})
    assert second.status_code == 200, second.text
    assert second.json()["record"]["id"] == record["id"]
    assert second.json()["meta"]["isNew"] is False
    assert second.json()["record"]["email"] == "ann@example.com"


def test_existing_email_is_linked(world: World, provider: OIDCProvider) -> None:
    # user2 registered with a password and never verified: the sign-in links it,
    # verifies it, and replaces the password nobody proved to own.
    answer = sign_in(world, provider, person("sub-u2", "USER2@example.com"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["record"]["id"] == world.ids["user2"]
    assert answer.json()["record"]["verified"] is True and answer.json()["meta"]["isNew"] is False
    old = world.client.post("/api/collections/users/auth-with-password",
                            json={"identity": "user2@example.com", "password": PASSWORD})  # fmt: skip
    assert old.status_code == 400
    # user1, verified first, keeps its password.
    verify = world.request("PATCH", f"/api/collections/users/records/{world.ids['user1']}",
                           "superuser", json={"verified": True})  # fmt: skip
    assert verify.status_code == 200
    linked = sign_in(world, provider, person("sub-u1", "user1@example.com"))
    assert linked.json()["record"]["id"] == world.ids["user1"]
    kept = world.client.post("/api/collections/users/auth-with-password",
                             json={"identity": "user1@example.com", "password": PASSWORD})  # fmt: skip
    assert kept.status_code == 200


def test_unlink_through_the_records_api(world: World, provider: OIDCProvider) -> None:
    first = sign_in(world, provider, person("sub-unlink", "unlink@example.com")).json()
    headers = {"Authorization": first["token"]}
    links = world.client.get("/api/collections/_externalAuths/records", headers=headers).json()
    (link,) = links["items"]
    other = world.request(
        "DELETE", f"/api/collections/_externalAuths/records/{link['id']}", "user1"
    )
    assert other.status_code == 404
    mine = world.client.delete(
        f"/api/collections/_externalAuths/records/{link['id']}", headers=headers
    )
    assert mine.status_code == 204
    again = sign_in(world, provider, person("sub-unlink", "unlink@example.com"))
    assert again.json()["record"]["id"] == first["record"]["id"], "relinked by its verified email"


def test_signed_in_record_gets_linked(world: World, provider: OIDCProvider) -> None:
    """A signed-in record is linked to a provider account without a verified email."""
    email = "linkme@example.com"
    created = world.client.post("/api/collections/users/records", json={
        "email": email, "password": PASSWORD, "passwordConfirm": PASSWORD})  # fmt: skip
    token = world.client.post("/api/collections/users/auth-with-password",
                              json={"identity": email, "password": PASSWORD}).json()["token"]  # fmt: skip
    body = consent(world, provider, person("sub-no-email", "", verified=False))
    answer = world.client.post(SIGN_IN, json=body, headers={"Authorization": token})
    assert answer.status_code == 200, answer.text
    assert answer.json()["record"]["id"] == created.json()["id"]
    # An unverified record keeps one link at most: a second account replaces the first.
    body = consent(world, provider, person("sub-first", "", verified=False))
    first = world.request("POST", SIGN_IN, "user1", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["record"]["id"] == world.ids["user1"]
    body = consent(world, provider, person("sub-second", "", verified=False))
    second = world.request("POST", SIGN_IN, "user1", json=body)
    assert second.status_code == 200, second.text
    links = world.request("GET", "/api/collections/_externalAuths/records?filter="
                          f"recordRef='{world.ids['user1']}'", "superuser").json()["items"]  # fmt: skip
    assert [link["providerId"] for link in links] == ["sub-second"]
    # Once verified, a record linked to one oidc account is refused a second one.
    world.request("PATCH", f"/api/collections/users/records/{world.ids['user1']}", "superuser",
                  json={"verified": True})  # fmt: skip
    body = consent(world, provider, person("sub-third", "", verified=False))
    third = world.request("POST", SIGN_IN, "user1", json=body)
    assert third.status_code == 400 and third.json()["message"] == "Failed to authenticate."


def test_unverified_record_loses_a_pre_hijackers_link(world: World, provider: OIDCProvider) -> None:
    """Someone signs up with the victim's address (unverified) and links their own provider
    account while signed in; the owner's verified sign-in must cut both ways in."""
    email = "victim@example.com"
    created = world.client.post("/api/collections/users/records", json={
        "email": email, "password": PASSWORD, "passwordConfirm": PASSWORD})  # fmt: skip
    token = world.client.post("/api/collections/users/auth-with-password",
                              json={"identity": email, "password": PASSWORD}).json()["token"]  # fmt: skip
    body = consent(world, provider, person("attacker", "", verified=False))
    linked = world.client.post(SIGN_IN, json=body, headers={"Authorization": token})
    assert linked.status_code == 200 and linked.json()["record"]["id"] == created.json()["id"]
    owner = sign_in(world, provider, person("owner", email))
    assert owner.status_code == 200 and owner.json()["record"]["id"] == created.json()["id"]
    assert owner.json()["record"]["verified"] is True
    # The attacker's link is gone: their account finds no record (and cannot sign up: no email).
    attacker = sign_in(world, provider, person("attacker", "", verified=False))
    assert attacker.status_code == 400, attacker.text
    assert attacker.json()["message"] == "Failed to create record."
    password = world.client.post("/api/collections/users/auth-with-password",
                                 json={"identity": email, "password": PASSWORD})  # fmt: skip
    assert password.status_code == 400, "and so is the attacker's password"


def test_provider_without_verified_email_cannot_create(
    world: World, provider: OIDCProvider
) -> None:
    answer = sign_in(world, provider, person("sub-unverified", "x@example.com", verified=False))
    assert answer.status_code == 400
    assert answer.json()["message"] == "Failed to create record."
    assert answer.json()["data"]["email"]["code"] == "validation_required"


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"codeVerifier": "x" * 43}, 400, "Failed to fetch OAuth2 token."),
        ({"code": "not-a-code"}, 400, "Failed to fetch OAuth2 token."),
        ({"redirectURL": "http://evil.example/cb"}, 400, "Failed to fetch OAuth2 token."),
        ({"provider": "google"}, 400, "An error occurred while loading the submitted data."),
        ({"provider": "", "code": ""}, 400, "An error occurred while loading the submitted data."),
        ({"provider": 1}, 400, "An error occurred while loading the submitted data."),
        ({"createData": "x"}, 400, "An error occurred while loading the submitted data."),
        ({"createData": {"verified": True}}, 400, "Failed to create record."),
    ],
)
def test_bad_sign_ins(
    world: World, provider: OIDCProvider, change: dict[str, Any], status: int, message: str
) -> None:
    body = consent(world, provider, person("sub-bad", "bad@example.com"))
    body.update(change)
    answer = world.client.post(SIGN_IN, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["message"] == message
    if change.get("provider") == "google":
        assert answer.json()["data"]["provider"]["code"] == "validation_invalid_provider"


def test_bad_bodies(world: World) -> None:
    for raw in (b"[1]", b"{", b'"x"'):
        answer = world.client.post(
            SIGN_IN, content=raw, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400, answer.text


def test_code_is_single_use(world: World, provider: OIDCProvider) -> None:
    body = consent(world, provider, person("sub-once", "once@example.com"))
    assert world.client.post(SIGN_IN, json=body).status_code == 200
    replay = world.client.post(SIGN_IN, json=body)
    assert replay.status_code == 400 and replay.json()["message"] == "Failed to fetch OAuth2 token."


def test_create_rule_applies(world: World, provider: OIDCProvider) -> None:
    try:
        for rule, status in ((None, 403), ("@request.body.name = 'nobody'", 400)):
            world.request("PATCH", "/api/collections/users", "superuser", json={"createRule": rule})
            answer = sign_in(
                world, provider, person(f"sub-rule-{status}", f"rule{status}@example.com")
            )
            assert answer.status_code == status, answer.text
        listed = world.request(
            "GET", "/api/collections/users/records?filter=email~'rule'", "superuser"
        )
        assert listed.json()["totalItems"] == 0, "nothing is left of a refused sign-up"
    finally:
        world.request("PATCH", "/api/collections/users", "superuser", json={"createRule": ""})


def test_provider_failures_are_400s(world: World, provider: OIDCProvider) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    cases = [
        ({"tokenURL": f"{down}/token"}, "Failed to fetch OAuth2 token."),
        ({"tokenURL": f"{provider.url}/garbage"}, "Failed to fetch OAuth2 token."),
        ({"userInfoURL": f"{provider.url}/garbage"}, "Failed to fetch OAuth2 user."),
        ({"userInfoURL": f"{down}/userinfo"}, "Failed to fetch OAuth2 user."),
        ({"clientSecret": "wrong-secret"}, "Failed to fetch OAuth2 token."),
    ]
    try:
        for overrides, message in cases:
            configure(world, [provider.provider_config(**overrides)])
            answer = sign_in(world, provider, person("sub-down", "down@example.com"))
            assert answer.status_code == 400, (overrides, answer.text)
            assert answer.json() == {"data": {}, "message": message, "status": 400}
    finally:
        configure(world, [provider.provider_config()])


def test_disabled_oauth2(world: World, provider: OIDCProvider) -> None:
    body = consent(world, provider, person("sub-off", "off@example.com"))
    configure(world, [provider.provider_config()], enabled=False)
    try:
        methods = world.client.get(METHODS).json()
        assert methods["oauth2"] == {"providers": [], "enabled": False}
        answer = world.client.post(SIGN_IN, json=body)
        assert answer.status_code == 403
        assert (
            answer.json()["message"]
            == "The collection is not configured to allow OAuth2 authentication."
        )
        superusers = world.client.post("/api/collections/_superusers/auth-with-oauth2", json=body)
        assert superusers.status_code == 403
    finally:
        configure(world, [provider.provider_config()])


def test_provider_validation(world: World) -> None:
    cases = [
        ([{"name": "nope", "clientId": "a", "clientSecret": "b"}], {"0": {"name": {"code": "validation_missing_provider"}}}),
        ([{"name": "google"}], {"0": {"clientId": {"code": "validation_required"},
                                      "clientSecret": {"code": "validation_required"}}}),
        ([{"name": "github", "clientId": "a", "clientSecret": "b"}] * 2,
         {"1": {"name": {"code": "validation_duplicated_provider"}}}),
    ]  # fmt: skip
    for providers, errors in cases:
        answer = world.request("PATCH", "/api/collections/users", "superuser",
                               json={"oauth2": {"providers": providers}})  # fmt: skip
        assert answer.status_code == 400, answer.text
        assert answer.json()["message"] == "Failed to update collection."
        got = answer.json()["data"]["oauth2"]["providers"]
        for position, fields in errors.items():
            for name, error in fields.items():
                assert got[position][name]["code"] == error["code"]
    wrong_type = world.request("PATCH", "/api/collections/users", "superuser",
                               json={"oauth2": {"providers": [{"name": "google", "clientId": 1}]}})  # fmt: skip
    assert wrong_type.status_code == 400


def test_id_token_provider(world: World, provider: OIDCProvider) -> None:
    """oidc2 without userInfoURL reads the signed id_token (issuer and signature checked)."""
    good = provider.provider_config("oidc2", userInfoURL="", displayName="",
                                    extra={"jwksURL": f"{provider.url}/jwks", "issuers": [provider.url]})  # fmt: skip
    configure(world, [provider.provider_config(), good])
    try:
        user = person("sub-idt", "idt@example.com", name="Id Token")
        answer = sign_in(world, provider, user, name="oidc2")
        assert answer.status_code == 200, answer.text
        assert answer.json()["record"]["name"] == "Id Token"
        assert answer.json()["meta"]["rawUser"]["iss"] == provider.url
        methods = world.client.get(METHODS).json()["oauth2"]["providers"]
        assert [p["displayName"] for p in methods] == ["Test OIDC", "OIDC"]
        wrong = {**good, "extra": {"issuers": ["https://someone-else.example"]}}
        configure(world, [wrong])
        refused = sign_in(world, provider, user, name="oidc2")
        assert (
            refused.status_code == 400
            and refused.json()["message"] == "Failed to fetch OAuth2 user."
        )
    finally:
        configure(world, [provider.provider_config()])


def test_github_primary_verified_email(world: World, provider: OIDCProvider) -> None:
    github = provider.provider_config("github", userInfoURL=f"{provider.url}/api/user")
    configure(
        world,
        [github],
        mappedFields={"name": "name", "avatarURL": "avatar", "id": "", "username": ""},
    )
    provider.emails = [
        {"email": "old@example.com", "primary": False, "verified": True},
        {"email": "octo@example.com", "primary": True, "verified": True},
    ]
    try:
        octocat = {"id": 583231, "login": "octocat", "name": "The Octocat", "email": None,
                   "avatar_url": f"{provider.url}/avatar.png"}  # fmt: skip
        provider.avatar = png(8, 8)
        answer = sign_in(world, provider, octocat, name="github")
        assert answer.status_code == 200, answer.text
        meta, record = answer.json()["meta"], answer.json()["record"]
        assert meta["id"] == "583231" and meta["username"] == "octocat"
        assert meta["email"] == "octo@example.com" and record["email"] == "octo@example.com"
        assert record["avatar"].startswith("avatar_") and record["avatar"].endswith(".png")
        stored = world.client.get(f"/api/files/users/{record['id']}/{record['avatar']}")
        assert stored.status_code == 200 and stored.content == provider.avatar
        provider.emails = [{"email": "x@example.com", "primary": True, "verified": False}]
        unverified = sign_in(world, provider, {**octocat, "id": 1, "email": None}, name="github")
        assert unverified.status_code == 400, "no verified email, so no email to sign up with"
    finally:
        configure(world, [provider.provider_config()])


# The redirect page ----------------------------------------------------------------


def hub_app(world: World) -> App:
    app: App = world.client.app.state.keelbase  # type: ignore[attr-defined]
    return app


def test_redirect_without_a_waiting_client_fails(world: World) -> None:
    for answer in (
        world.client.get("/api/oauth2-redirect"),
        world.client.get("/api/oauth2-redirect?state=nobody&code=abc"),
        world.client.post("/api/oauth2-redirect", data={"state": "nobody", "code": "abc"}),
        world.client.post(
            "/api/oauth2-redirect", content=b"{", headers={"content-type": "application/json"}
        ),
    ):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        assert "Failed to authenticate" in answer.text


def test_redirect_reaches_the_subscribed_client_once(world: World) -> None:
    hub = hub_app(world).realtime
    client = hub.connect()
    try:
        subscribed = world.client.post(
            "/api/realtime", json={"clientId": client.id, "subscriptions": ["@oauth2"]}
        )
        assert subscribed.status_code == 204, subscribed.text
        ok = world.client.get(f"/api/oauth2-redirect?state={client.id}&code=the-code")
        assert ok.status_code == 200 and "Auth completed" in ok.text
        message = client.queue.get_nowait()
        assert message is not None and message.name == "@oauth2"
        assert json.loads(message.data) == {"state": client.id, "code": "the-code"}
        assert "@oauth2" not in client.subscriptions, "one message per subscription"
        again = world.client.get(f"/api/oauth2-redirect?state={client.id}&code=the-code")
        assert "Failed to authenticate" in again.text
        world.client.post(
            "/api/realtime", json={"clientId": client.id, "subscriptions": ["@oauth2"]}
        )
        denied = world.client.get(f"/api/oauth2-redirect?state={client.id}&error=access_denied")
        assert "Failed to authenticate" in denied.text
        message = client.queue.get_nowait()
        assert message is not None
        assert json.loads(message.data) == {
            "state": client.id,
            "code": "",
            "error": "access_denied",
        }
    finally:
        hub.disconnect(client)


def test_apple_form_post_name_reaches_the_sign_in(world: World, provider: OIDCProvider) -> None:
    """Apple posts the redirect with the user's name once; the sign-in that follows uses it."""
    apple = provider.provider_config("apple", userInfoURL="", displayName="",
                                     extra={"jwksURL": f"{provider.url}/jwks", "issuer": provider.url})  # fmt: skip
    configure(world, [apple])
    hub = hub_app(world).realtime
    client = hub.connect()
    try:
        methods = world.client.get(METHODS).json()["oauth2"]["providers"]
        assert "response_mode=form_post" in methods[0]["authURL"]
        body = consent(
            world, provider, person("apple-sub", "apple@example.com", verified="true"), "apple"
        )
        world.client.post(
            "/api/realtime", json={"clientId": client.id, "subscriptions": ["@oauth2"]}
        )
        posted = world.client.post("/api/oauth2-redirect", data={
            "state": client.id, "code": body["code"],
            "user": '{"name":{"firstName":"Ann","lastName":"Apple"},"email":"apple@example.com"}'})  # fmt: skip
        assert "Auth completed" in posted.text
        answer = world.client.post(SIGN_IN, json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["record"]["name"] == "Ann Apple"
        assert answer.json()["record"]["verified"] is True
        # The issuer is Apple's by default: this provider is not Apple. (Extra's keys merge
        # into the stored ones, as in PocketBase: a null drops one.)
        forged = provider.provider_config(
            "apple", userInfoURL="", extra={"jwksURL": f"{provider.url}/jwks", "issuer": None}
        )
        configure(world, [forged])
        refused = sign_in(world, provider, person("apple-sub", "apple@example.com"), name="apple")
        assert (
            refused.status_code == 400
            and refused.json()["message"] == "Failed to fetch OAuth2 user."
        )
    finally:
        hub.disconnect(client)
        configure(world, [provider.provider_config()])


def test_deleted_record_leaves_no_working_link(world: World, provider: OIDCProvider) -> None:
    user = person("sub-gone", "gone@example.com")
    first = sign_in(world, provider, user).json()
    deleted = world.request(
        "DELETE", f"/api/collections/users/records/{first['record']['id']}", "superuser"
    )
    assert deleted.status_code == 204
    gone = world.request(
        "GET", "/api/collections/_externalAuths/records?filter=providerId='sub-gone'", "superuser"
    )
    assert gone.json()["totalItems"] == 0, "deleting a record deletes its links"
    again = sign_in(world, provider, user)
    assert again.status_code == 200, again.text
    assert (
        again.json()["meta"]["isNew"] is True
        and again.json()["record"]["id"] != first["record"]["id"]
    )
    links = world.request(
        "GET", "/api/collections/_externalAuths/records?filter=providerId='sub-gone'", "superuser"
    )
    assert [x["recordRef"] for x in links.json()["items"]] == [again.json()["record"]["id"]]


def test_an_avatar_elsewhere_than_the_provider_is_fetched_only_from_a_public_address(
    world: World, provider: OIDCProvider
) -> None:
    """The avatar's address is the provider's answer about the user, which some providers let
    the user choose: the server must not fetch its own networks for them. "localhost" is
    the provider's own server on loopback, but not the origin configured for it."""
    configure(
        world,
        [provider.provider_config()],
        mappedFields={"name": "name", "avatarURL": "avatar", "id": "", "username": ""},
    )
    provider.avatar = png(8, 8)
    try:
        home = sign_in(world, provider, person("av-home", "av-home@example.com",
                                                picture=f"{provider.url}/avatar.png"))  # fmt: skip
        assert home.status_code == 200, home.text
        assert home.json()["record"]["avatar"].endswith(".png")  # the provider's own origin
        elsewhere = provider.url.replace("127.0.0.1", "localhost")
        for n, url in enumerate((f"{elsewhere}/avatar.png", "http://[::1/avatar.png")):
            other = sign_in(world, provider, person(f"av-{n}", f"av{n}@example.com", picture=url))
            assert other.status_code == 200, other.text
            assert other.json()["record"]["avatar"] == ""
    finally:
        configure(world, [provider.provider_config()])
