"""Which rule a request falls under, the client's IP, and rule validation."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from keelbase.core import rate_limits as rl


@dataclass
class R:
    label: str
    audience: str = ""
    duration: int = 1
    maxRequests: int = 1


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/collections/posts/records", ("posts", ("list",))),
        ("POST", "/api/collections/posts/records", ("posts", ("create",))),
        ("GET", "/api/collections/posts/records/abc", ("posts", ("view",))),
        ("PATCH", "/api/collections/posts/records/abc", ("posts", ("update",))),
        ("DELETE", "/api/collections/posts/records/abc", ("posts", ("delete",))),
        ("PUT", "/api/collections/posts/records", None),
        (
            "POST",
            "/api/collections/users/auth-with-password",
            ("users", ("authWithPassword", "auth")),
        ),
        ("POST", "/api/collections/users/auth-with-otp", ("users", ("authWithOTP", "auth"))),
        ("POST", "/api/collections/users/request-otp", ("users", ("requestOTP",))),
        ("GET", "/api/collections/users/auth-methods", ("users", ("listAuthMethods",))),
        ("POST", "/api/collections/users/auth-methods", None),
        ("GET", "/api/collections/users/auth-with-password", None),
        ("GET", "/api/files/posts/abc/a.png", ("posts", ("file",))),
        ("POST", "/api/files/token", None),
        ("GET", "/api/collections/posts", None),
        ("GET", "/api/health", None),
    ],
)
def test_collection_action(method: str, path: str, expected: object) -> None:
    assert rl.collection_action(method, path) == expected


def test_find_rule_order() -> None:
    rules = [R("/api/"), R("*:list"), R("GET /api/x"), R("/api/x"), R("posts:list")]
    labels = rl.collection_labels("posts", ("list",), "GET", "/api/x")
    assert rl.find_rule(rules, labels, rl.GUEST_AUDIENCES) is rules[4]
    assert rl.find_rule(rules[:4], labels, rl.GUEST_AUDIENCES) is rules[1]
    assert rl.find_rule(rules[:1] + rules[2:4], labels, rl.GUEST_AUDIENCES) is rules[2]
    assert rl.find_rule([rules[0], rules[3]], labels, rl.GUEST_AUDIENCES) is rules[3]
    assert rl.find_rule(rules[:1], labels, rl.GUEST_AUDIENCES) is rules[0]
    assert rl.find_rule(rules[:1], rl.default_labels("GET", "/other"), rl.GUEST_AUDIENCES) is None
    # the path itself matches its prefix rule ("/api" is under "/api/")
    assert rl.find_rule(rules[:1], rl.default_labels("GET", "/api"), rl.GUEST_AUDIENCES) is rules[0]


def test_find_rule_audiences() -> None:
    guest, auth = R("/api/", "@guest"), R("/api/", "@auth")
    labels = rl.default_labels("GET", "/api/x")
    assert rl.find_rule([guest, auth], labels, rl.GUEST_AUDIENCES) is guest
    assert rl.find_rule([guest, auth], labels, rl.AUTH_AUDIENCES) is auth
    assert rl.find_rule([guest], labels, rl.AUTH_AUDIENCES) is None


@pytest.mark.parametrize(
    ("headers", "trusted", "leftmost", "expected"),
    [
        ([], [], False, "9.9.9.9"),
        ([(b"x-forwarded-for", b"1.1.1.1")], [], False, "9.9.9.9"),
        ([(b"x-forwarded-for", b"1.1.1.1, 2.2.2.2")], ["X-Forwarded-For"], False, "2.2.2.2"),
        ([(b"x-forwarded-for", b"1.1.1.1, 2.2.2.2")], ["X-Forwarded-For"], True, "1.1.1.1"),
        ([(b"x-forwarded-for", b"1.1.1.1, junk")], ["X-Forwarded-For"], False, "1.1.1.1"),
        ([(b"x-forwarded-for", b"junk")], ["X-Forwarded-For"], False, "9.9.9.9"),
        ([(b"x-real-ip", b"::1")], ["X-Forwarded-For", "X-Real-IP"], False,
         "0000:0000:0000:0000:0000:0000:0000:0001"),
        ([(b"x-forwarded-for", b"1.1.1.1"), (b"x-forwarded-for", b"3.3.3.3")],
         ["X-Forwarded-For"], False, "3.3.3.3"),
    ],
)  # fmt: skip
def test_client_ip(
    headers: list[tuple[bytes, bytes]], trusted: list[str], leftmost: bool, expected: str
) -> None:
    assert rl.client_ip(headers, "9.9.9.9", trusted, leftmost) == expected


def test_excluded_networks() -> None:
    networks = rl.parse_networks(["10.0.0.0/8", "192.168.1.7", "fd00::/8", "bad"])
    assert len(networks) == 3
    assert rl.in_networks("10.1.2.3", networks)
    assert rl.in_networks("192.168.1.7", networks)
    assert not rl.in_networks("192.168.1.8", networks)
    assert rl.in_networks("fd12::1", networks)
    assert not rl.in_networks("testclient", networks)


@pytest.mark.parametrize(
    "label",
    ["users:auth", "*:create", "/api/", "/api", "/", "GET /api/x-y", "get /a", "tag", "a_b"],
)
def test_valid_labels(label: str) -> None:
    assert rl.settings_errors(True, [R(label)], []) == {}


@pytest.mark.parametrize(
    "label", ["x:*", "*", "/api/x y", "GET  /a", "*:a:b", "a-b", "/a.b", "é:list"]
)
def test_invalid_labels(label: str) -> None:
    errors = rl.settings_errors(False, [R(label)], [])
    assert errors["rules"]["0"]["label"]["code"] == "validation_match_invalid"


def test_conflicts_reported_only_when_rules_are_valid() -> None:
    errors = rl.settings_errors(False, [R("a"), R("a"), R("b!")], [])["rules"]
    assert list(errors) == ["2"]
    errors = rl.settings_errors(False, [R("a", "@guest"), R("a", "@auth"), R("a")], [])["rules"]
    assert errors["2"]["label"]["code"] == "validation_conflicting_rate_limit_rule"
    assert rl.settings_errors(False, [R("a"), R("ab"), R("/api"), R("/api/")], []) == {}


def test_limits_count_ipv4_addresses_and_ipv6_slash_64s() -> None:
    from keelbase.core.rate_limits import limit_key

    assert limit_key("203.0.113.7") == "203.0.113.7"
    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:ffff::9")
    assert limit_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("") == ""
