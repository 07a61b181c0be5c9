"""Rate limits (the ``rateLimits`` settings) and brute-force protection of password sign-in."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from keelbase import App, Config
from keelbase.services.auth.login_guard import LoginGuard
from tests.api.conftest import ADMIN, PASSWORD
from tests.api.scenario import Scenario, World, params, run
from tests.api.worlds import Template

TOO_MANY = {"status": 429, "message": "Too Many Requests.", "data": {}}
XFF = "X-Forwarded-For"
SAVE_FAILED = "An error occurred while saving the new settings."


def create_posts_and_notes(world: World) -> None:
    for name in ("posts", "notes"):
        created = world.request("POST", "/api/collections", "superuser", json={
            "name": name, "listRule": "", "viewRule": "", "createRule": "",
            "fields": [{"name": "title", "type": "text"}]})  # fmt: skip
        assert created.status_code == 200, created.text


@pytest.fixture(scope="module")
def template(base: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    """Two open collections, posts and notes; no rate limits yet."""
    data_dir = tmp_path_factory.mktemp("limits") / "kb_data"
    with base.extend(data_dir, create_posts_and_notes) as extended:
        yield extended


def limits(world: World, *rules: dict[str, Any], enabled: bool = True, **extra: Any) -> None:
    """Save the rate limits (which also starts every count afresh)."""
    body: dict[str, Any] = {"rateLimits": {"enabled": enabled, "excludedIPs": [], **extra}}
    if rules:
        body["rateLimits"]["rules"] = list(rules)
    trusted = {"headers": [XFF], "useLeftmostIP": False}
    saved = world.request("PATCH", "/api/settings", "superuser", json={
        "rateLimits": body["rateLimits"], "trustedProxy": trusted})  # fmt: skip
    assert saved.status_code == 200, saved.text


def rule(label: str, max_requests: int, duration: int = 10, audience: str = "") -> dict[str, Any]:
    return {"label": label, "audience": audience, "duration": duration, "maxRequests": max_requests}


def send(world: World, method: str, url: str, who: str = "guest", ip: str = "", **kw: Any) -> Any:
    headers = world.headers(who)
    if ip:
        headers[XFF] = ip
    return world.client.request(method, url, headers=headers, **kw)


def statuses(
    world: World, method: str, url: str, n: int, who: str = "guest", **kw: Any
) -> list[int]:
    return [send(world, method, url, who, **kw).status_code for _ in range(n)]


def ip(address: str) -> dict[str, str]:
    return {"ip": address}


def test_over_the_limit_then_recovery(world: World) -> None:
    limits(world, rule("posts:list", 3, duration=1))
    url = "/api/collections/posts/records"
    # Windows count whole seconds of the clock (as PocketBase's do): the four requests must
    # fall in one, or the fourth starts a new window and passes (a flake CI met once).
    time.sleep(1.0 - time.time() % 1.0 + 0.01)
    assert statuses(world, "GET", url, 3) == [200, 200, 200]
    over = world.client.get(url)
    assert over.status_code == 429
    assert over.json() == TOO_MANY
    assert over.headers["x-content-type-options"] == "nosniff"  # the usual headers too
    time.sleep(1.1)
    assert world.client.get(url).status_code == 200


def test_disabled_limits_count_nothing(world: World) -> None:
    limits(world, rule("posts:list", 1), enabled=False)
    assert statuses(world, "GET", "/api/collections/posts/records", 4) == [200] * 4


def test_collection_rules_count_per_collection_and_action(world: World) -> None:
    limits(world, rule("*:create", 2), rule("*:list", 1))
    posts, notes = "/api/collections/posts/records", "/api/collections/notes/records"
    body = {"json": {"title": "x"}}
    assert statuses(world, "POST", posts, 3, **body) == [200, 200, 429]
    assert statuses(world, "POST", notes, 3, **body) == [200, 200, 429]
    assert statuses(world, "GET", posts, 2) == [200, 429]
    # an unknown collection is the route's own 404, not counted
    assert statuses(world, "GET", "/api/collections/nope/records", 3) == [404] * 3


def test_label_precedence(world: World) -> None:
    # the collection's own tag wins over *:tag, which wins over paths, whatever the order
    limits(world, rule("/api/", 50), rule("*:list", 3), rule("posts:list", 1))
    assert statuses(world, "GET", "/api/collections/posts/records", 2) == [200, 429]
    assert statuses(world, "GET", "/api/collections/notes/records", 4) == [200, 200, 200, 429]
    # an exact "METHOD /path" wins over the path, which wins over a prefix
    limits(world, rule("/api/", 2), rule("/api/health", 3), rule("GET /api/health", 1))
    assert statuses(world, "GET", "/api/health", 2) == [200, 429]
    limits(world, rule("/api/", 2), rule("/api/health", 3))
    assert statuses(world, "GET", "/api/health", 4) == [200, 200, 200, 429]


def test_path_prefix_rules_share_one_allowance(world: World) -> None:
    limits(world, rule("/api/", 3))
    assert world.client.get("/api/health").status_code == 200
    assert world.client.get("/api/collections/users/auth-methods").status_code == 200
    # collection routes count apart (their own action), other paths share the rule's count
    assert world.client.get("/api/collections/posts/records").status_code == 200
    assert statuses(world, "GET", "/api/health", 2) == [200, 200]
    assert world.client.get("/api/settings").status_code == 429


def test_auth_tags(world: World) -> None:
    limits(world, rule("*:auth", 2), rule("users:listAuthMethods", 1))
    url = "/api/collections/users/auth-with-password"
    body = {"json": {"identity": "user1@example.com", "password": PASSWORD}}
    assert statuses(world, "POST", url, 3, **body) == [200, 200, 429]
    methods = "/api/collections/users/auth-methods"
    assert statuses(world, "GET", methods, 2) == [200, 429]
    assert statuses(world, "GET", "/api/collections/_superusers/auth-methods", 2) == [200, 200]


def test_audiences(world: World) -> None:
    limits(world, rule("posts:list", 1, audience="@guest"), rule("posts:list", 2, audience="@auth"))
    url = "/api/collections/posts/records"
    assert statuses(world, "GET", url, 2) == [200, 429]
    # signed-in users are told apart by IP too, as in PocketBase
    assert send(world, "GET", url, "user1").status_code == 200
    assert send(world, "GET", url, "user2").status_code == 200
    assert send(world, "GET", url, "user1").status_code == 429
    limits(world, rule("posts:list", 1, audience="@auth"))
    assert statuses(world, "GET", url, 3) == [200, 200, 200]
    assert statuses(world, "GET", url, 2, "user1") == [200, 429]


def test_superusers_are_not_limited(world: World) -> None:
    limits(world, rule("posts:list", 1), rule("/api/", 1))
    assert statuses(world, "GET", "/api/collections/posts/records", 3, "superuser") == [200] * 3
    assert statuses(world, "GET", "/api/settings", 3, "superuser") == [200] * 3


def test_trusted_proxy_ip_and_excluded_ips(world: World) -> None:
    limits(world, rule("/api/", 1), excludedIPs=["10.0.0.0/8", "192.168.1.7"])
    assert statuses(world, "GET", "/api/health", 2, **ip("1.1.1.1")) == [200, 429]
    assert statuses(world, "GET", "/api/health", 2, **ip("2.2.2.2")) == [200, 429]
    # the rightmost IP is the one the proxy appended
    assert send(world, "GET", "/api/health", **ip("1.1.1.1, 3.3.3.3")).status_code == 200
    assert send(world, "GET", "/api/health", **ip("4.4.4.4, 1.1.1.1")).status_code == 429
    assert statuses(world, "GET", "/api/health", 3, **ip("10.9.8.7")) == [200] * 3
    assert statuses(world, "GET", "/api/health", 3, **ip("192.168.1.7")) == [200] * 3
    saved = world.request("PATCH", "/api/settings", "superuser",
                          json={"trustedProxy": {"headers": [XFF], "useLeftmostIP": True}})  # fmt: skip
    assert saved.status_code == 200
    assert statuses(world, "GET", "/api/health", 2, **ip("5.5.5.5, 1.1.1.1")) == [200, 429]


def test_untrusted_forwarded_header_is_ignored(world: World) -> None:
    saved = world.request("PATCH", "/api/settings", "superuser", json={
        "rateLimits": {"enabled": True, "rules": [rule("/api/", 1)], "excludedIPs": []},
        "trustedProxy": {"headers": [], "useLeftmostIP": False}})  # fmt: skip
    assert saved.status_code == 200
    assert send(world, "GET", "/api/health", **ip("6.6.6.6")).status_code == 200
    assert send(world, "GET", "/api/health", **ip("7.7.7.7")).status_code == 429


def test_batch_sub_requests_count_apart_from_direct_ones(world: World) -> None:
    saved = world.request("PATCH", "/api/settings", "superuser", json={"batch": {"enabled": True}})
    assert saved.status_code == 200
    limits(world, rule("*:create", 2))
    create = {"method": "POST", "url": "/api/collections/notes/records", "body": {"title": "b"}}
    assert (
        world.client.post("/api/collections/notes/records", json={"title": "a"}).status_code == 200
    )
    ok = world.client.post("/api/batch", json={"requests": [create, create]})
    assert ok.status_code == 200, ok.text
    failed = world.client.post("/api/batch", json={"requests": [create]})
    assert failed.status_code == 400
    assert failed.json()["data"]["requests"]["0"]["response"] == TOO_MANY
    assert (
        world.client.post("/api/collections/notes/records", json={"title": "a"}).status_code == 200
    )


# fmt: off
RL = "rateLimits"
SETTINGS_ERRORS = [
    Scenario("bad rule fields", "PATCH", "/api/settings", "superuser", status=400, body={RL: {"rules": [
        {"label": "bad label!", "audience": "x", "duration": 0, "maxRequests": -1}]}},
        contains={"message": SAVE_FAILED, "data": {RL: {"rules": {"0": {
            "label": {"code": "validation_match_invalid", "message": "Must be in a valid format."},
            "audience": {"code": "validation_in_invalid"},
            "duration": {"code": "validation_required"},
            "maxRequests": {"code": "validation_min_greater_equal_than_required",
                            "params": {"threshold": 1}}}}}}}),
    Scenario("conflicting rules", "PATCH", "/api/settings", "superuser", status=400, body={RL: {"rules": [
        rule("/api/", 1, audience="@guest"), rule("/api/", 2, audience="@auth"), rule("/api/", 3)]}},
        contains={"data": {RL: {"rules": {"2": {"label": {
            "code": "validation_conflicting_rate_limit_rule",
            "message": "Rate limit rule configuration with label /api/ already exists or conflicts "
                       "with another rule.", "params": {"label": "/api/"}}}}}}}),
    Scenario("enabled without rules", "PATCH", "/api/settings", "superuser", status=400,
             body={RL: {"enabled": True, "rules": []}},
             contains={"data": {RL: {"rules": {"code": "validation_required"}}}}),
    Scenario("bad excluded IP", "PATCH", "/api/settings", "superuser", status=400,
             body={RL: {"excludedIPs": ["10.0.0.0/8", "nope", "1.2.3.4/33"]}},
             contains={"data": {RL: {"excludedIPs": {
                 "1": {"code": "validation_invlaid_ip_or_subnet", "message": "Invalid IP or CIDR subnet."},
                 "2": {"code": "validation_invlaid_ip_or_subnet"}}}}}),
    Scenario("valid labels", "PATCH", "/api/settings", "superuser", body={RL: {"enabled": False, "rules": [
        rule("users:auth", 1), rule("*:create", 1), rule("/api/batch", 1), rule("/api", 1),
        rule("GET /api/x-y", 1), rule("tag", 1), rule("/", 1, audience="@guest"),
        rule("/", 1, audience="@auth")], "excludedIPs": ["::1", "fd00::/8"]}},
        contains={RL: {"enabled": False, "excludedIPs": ["::1", "fd00::/8"]}}),
]
# fmt: on


@params(SETTINGS_ERRORS)
def test_settings_validation(world: World, scenario: Scenario) -> None:
    run(world, scenario)


# Brute-force protection ------------------------------------------------------


def no_login_alerts(world: World) -> None:
    """Sign-ins from new addresses would mail alerts, which these tests do not look at."""
    saved = world.request(
        "PATCH", "/api/collections/users", "superuser", json={"authAlert": {"enabled": False}}
    )
    assert saved.status_code == 200, saved.text


@pytest.fixture(scope="module")
def guarded_template(
    base: Template, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Template]:
    data_dir = tmp_path_factory.mktemp("guarded") / "kb_data"
    with base.extend(data_dir, no_login_alerts) as extended:
        yield extended


@pytest.fixture
def guarded(guarded_template: Template, tmp_path: Path) -> Iterator[World]:
    """A fresh app (its own counters) with rate limits off."""
    with guarded_template.start(tmp_path / "kb_data") as world:
        yield world


def sign_in(world: World, identity: str, password: str, address: str = "") -> Any:
    headers = {XFF: address} if address else {}
    return world.client.post(
        "/api/collections/users/auth-with-password",
        json={"identity": identity, "password": password},
        headers=headers,
    )


def test_identity_is_locked_after_failed_attempts(guarded: World) -> None:
    for _ in range(10):
        assert sign_in(guarded, "user1@example.com", "wrong").status_code == 400
    locked = sign_in(guarded, "user1@example.com", PASSWORD)
    assert locked.status_code == 429  # even the right password: a lock that answers is no lock
    assert locked.json() == TOO_MANY
    assert sign_in(guarded, "USER1@example.com", PASSWORD).status_code == 429
    # another identity is not affected
    assert sign_in(guarded, "user2@example.com", PASSWORD).status_code == 200


def test_unknown_identity_gets_the_same_answers(guarded: World) -> None:
    known = [sign_in(guarded, "user2@example.com", "wrong") for _ in range(11)]
    unknown = [sign_in(guarded, "nobody@example.com", "wrong") for _ in range(11)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [400] * 10 + [429]
    assert [r.json() for r in known] == [r.json() for r in unknown]


def test_success_clears_the_identity_count(guarded: World) -> None:
    for _ in range(3):
        for _ in range(9):
            assert sign_in(guarded, "user1@example.com", "wrong").status_code == 400
        assert sign_in(guarded, "user1@example.com", PASSWORD).status_code == 200


def test_failures_per_ip_lock_that_ip(guarded: World) -> None:
    app = guarded.client.app.state.keelbase  # type: ignore[attr-defined]
    app.auth.login_guard = LoginGuard(app.auth_counters, ip_limit=5)
    saved = guarded.request("PATCH", "/api/settings", "superuser",
                            json={"trustedProxy": {"headers": [XFF]}})  # fmt: skip
    assert saved.status_code == 200
    for n in range(5):
        assert sign_in(guarded, f"someone{n}@example.com", "x", "8.8.8.8").status_code == 400
    assert sign_in(guarded, "user1@example.com", PASSWORD, "8.8.8.8").status_code == 429
    assert sign_in(guarded, "user1@example.com", PASSWORD, "9.9.9.9").status_code == 200


def test_a_locked_ip_cannot_go_on_locking_accounts(guarded: World) -> None:
    app = guarded.client.app.state.keelbase  # type: ignore[attr-defined]
    app.auth.login_guard = LoginGuard(app.auth_counters, identity_limit=3, ip_limit=6)
    saved = guarded.request("PATCH", "/api/settings", "superuser",
                            json={"trustedProxy": {"headers": [XFF]}})  # fmt: skip
    assert saved.status_code == 200
    attacker = "7.7.7.7"
    answers = [sign_in(guarded, "user1@example.com", "x", attacker).status_code for _ in range(4)]
    assert answers == [400, 400, 400, 429]
    # three more refusals and failures lock the attacker's IP ...
    answers = [sign_in(guarded, "user2@example.com", "x", attacker).status_code for _ in range(3)]
    assert answers[-1] == 429
    # ... whose further attempts no longer count against anyone
    for _ in range(10):
        assert sign_in(guarded, "user2@example.com", "x", attacker).status_code == 429
    assert sign_in(guarded, "user2@example.com", PASSWORD, "6.6.6.6").status_code == 200


def test_saving_rate_limit_settings_keeps_sign_in_locks(guarded: World) -> None:
    for _ in range(10):
        assert sign_in(guarded, "user1@example.com", "wrong").status_code == 400
    assert sign_in(guarded, "user1@example.com", PASSWORD).status_code == 429
    saved = guarded.request("PATCH", "/api/settings", "superuser",
                            json={"rateLimits": {"enabled": False, "rules": []}})  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert sign_in(guarded, "user1@example.com", PASSWORD).status_code == 429


def test_unknown_identity_takes_as_long_as_a_wrong_password(guarded: World) -> None:
    def timed(identity: str) -> float:
        started = time.perf_counter()
        assert sign_in(guarded, identity, "wrong").status_code == 400
        return time.perf_counter() - started

    known = statistics.median(timed("user1@example.com") for _ in range(5))
    unknown = statistics.median(timed(f"nobody{n}@example.com") for n in range(5))
    # a password hash check takes tens of milliseconds; skipping it would show at once
    assert unknown > known * 0.5, (known, unknown)


# Redis: counters shared by nodes -------------------------------------------------

REDIS_URL = os.environ.get("KEELBASE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI and is not reachable at {REDIS_URL}")
        pytest.skip(
            f"Redis is not reachable at {REDIS_URL} (start it, or set KEELBASE_TEST_REDIS_URL)"
        )
    return REDIS_URL


def test_redis_counters_are_shared_by_two_apps(
    tmp_path: Path, redis_url: str, fresh_db_url: str
) -> None:
    data_dir = tmp_path / "kb_data"

    async def create_superuser() -> None:
        async with App(Config(data_dir=data_dir, db_url=fresh_db_url)) as app:
            await app.superusers.upsert(*ADMIN)

    asyncio.run(create_superuser())
    channel = f"keelbase:test:{uuid.uuid4().hex}"
    config = Config(
        data_dir=data_dir, redis_url=redis_url, redis_channel=channel, db_url=fresh_db_url
    )
    one, two = App(config), App(config)
    with TestClient(one.asgi) as a, TestClient(two.asgi) as b:
        token = a.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": ADMIN[0], "password": ADMIN[1]},
        ).json()["token"]
        saved = a.patch("/api/settings", headers={"Authorization": token}, json={
            "rateLimits": {"enabled": True, "rules": [rule("/api/", 3)]}})  # fmt: skip
        assert saved.status_code == 200, saved.text
        deadline = time.monotonic() + 5
        while not two.rate_limits.enabled and time.monotonic() < deadline:
            time.sleep(0.05)
        assert two.rate_limits.enabled, "the second app never heard of the new settings"
        assert [a.get("/api/health").status_code, b.get("/api/health").status_code] == [200, 200]
        assert a.get("/api/health").status_code == 200
        assert b.get("/api/health").status_code == 429
        assert a.get("/api/health").status_code == 429
        a.patch("/api/settings", headers={"Authorization": token},
                json={"rateLimits": {"enabled": False}})  # fmt: skip
        deadline = time.monotonic() + 5
        while two.rate_limits.enabled and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not two.rate_limits.enabled
        # failed sign-ins are counted across the apps too
        identity = f"{uuid.uuid4().hex}@example.com"
        for client in (a, b) * 5:
            failed = client.post("/api/collections/_superusers/auth-with-password",
                                 json={"identity": identity, "password": "x"})  # fmt: skip
            assert failed.status_code == 400
        locked = b.post("/api/collections/_superusers/auth-with-password",
                        json={"identity": identity, "password": "x"})  # fmt: skip
        assert locked.status_code == 429
