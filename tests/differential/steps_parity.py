"""Differential steps for the second parity round: superuserIPs, settings keys,
the endpoints and query behaviours that differed.

Both servers see the test's requests from 127.0.0.1; ``X-Forwarded-For`` (made
trusted by the first step) stands for a client elsewhere.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

Step = dict[str, Any]
SU = "superuser"
SETTINGS = "/api/settings"
SU_AUTH = "/api/collections/_superusers/auth-with-password"
SU_LOGIN = {"identity": "admin@example.com", "password": "Passw0rd123"}
XFF = "X-Forwarded-For"
ALLOWED = {XFF: "10.1.1.1"}


def step(name: str, method: str, url: str, who: str = "guest", **extra: Any) -> Step:
    return {"name": name, "method": method, "url": url, "as": who, **extra}


SUPERUSER_IPS_STEPS: list[Step] = [
    step(
        "superuserIPs: bad entries",
        "PATCH",
        SETTINGS + "?fields=superuserIPs",
        SU,
        body={"superuserIPs": ["10.0.0.1", "", "nope", "10.0.0.0/33", "fe80::/10"]},
    ),
    step(
        "superuserIPs: allow only 10.1.1.1 and 10.2.0.0/16",
        "PATCH",
        SETTINGS + "?fields=superuserIPs,trustedProxy",
        SU,
        body={
            "superuserIPs": ["10.1.1.1", "10.2.0.0/16"],
            "trustedProxy": {"headers": [XFF], "useLeftmostIP": False},
        },
    ),
    step("superuserIPs: settings from 127.0.0.1", "GET", SETTINGS + "?fields=meta.appName", SU),
    step(
        "superuserIPs: settings from 10.1.1.1",
        "GET",
        SETTINGS + "?fields=superuserIPs",
        SU,
        headers=ALLOWED,
    ),
    step(
        "superuserIPs: collections from the subnet",
        "GET",
        "/api/collections?fields=name&perPage=1&sort=created",
        SU,
        headers={XFF: "10.2.200.3"},
    ),
    step("superuserIPs: sign-in from 127.0.0.1", "POST", SU_AUTH + "?fields=token", body=SU_LOGIN),
    step(
        "superuserIPs: sign-in from 10.1.1.1",
        "POST",
        SU_AUTH + "?fields=record.email",
        body=SU_LOGIN,
        headers=ALLOWED,
    ),
    step(
        "superuserIPs: a user is not affected",
        "GET",
        "/api/collections/users/auth-methods?fields=password",
        "user1",
    ),
    step(
        "superuserIPs: clear from 10.1.1.1",
        "PATCH",
        SETTINGS + "?fields=superuserIPs,trustedProxy",
        SU,
        headers=ALLOWED,
        body={"superuserIPs": [], "trustedProxy": {"headers": []}},
    ),
    step("superuserIPs: settings again", "GET", SETTINGS + "?fields=superuserIPs", SU),
]

BIG_BATCH = {
    "requests": [
        {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "x" * 300}}
    ]
}

SETTINGS_STEPS: list[Step] = [
    step(
        "settings: batch bodies up to 200 bytes",
        "PATCH",
        SETTINGS + "?fields=batch",
        SU,
        body={"batch": {"enabled": True, "maxBodySize": 200}},
    ),
    step("settings: a batch over maxBodySize", "POST", "/api/batch", body=BIG_BATCH),
    step(
        "settings: batch bodies unlimited again",
        "PATCH",
        SETTINGS + "?fields=batch",
        SU,
        body={"batch": {"maxBodySize": 0}},
    ),
    step(
        "settings: dashboard keys round trip",
        "PATCH",
        SETTINGS + "?fields=meta.hideControls,meta.accentColor",
        SU,
        body={"meta": {"hideControls": True, "accentColor": "#ff0000"}},
    ),
    step(
        "settings: dashboard keys back",
        "PATCH",
        SETTINGS + "?fields=meta.hideControls",
        SU,
        body={"meta": {"hideControls": False}},
    ),
]

DRY_RUN = "/api/collections/meta/dry-run-view"
DRY_FIELDS = "?fields=fields.name,fields.type,fields.primaryKey,sample.id,sample.title"

ENDPOINT_STEPS: list[Step] = [
    step(
        "dry-run view: a literal",
        "POST",
        DRY_RUN + DRY_FIELDS,
        SU,
        body={"query": "select 1 as id"},
    ),
    step(
        "dry-run view: from posts",
        "POST",
        DRY_RUN + DRY_FIELDS,
        SU,
        body={"query": "select id, title from posts order by title limit 3"},
    ),
    step("dry-run view: empty query", "POST", DRY_RUN, SU, body={"query": ""}),
    step("dry-run view: too long", "POST", DRY_RUN, SU, body={"query": "a" * 5001}),
    step("dry-run view: as a user", "POST", DRY_RUN, "user1", body={"query": "select 1 as id"}),
    step("dry-run view: as a guest", "POST", DRY_RUN, body={"query": "select 1 as id"}),
    step("OPTIONS without an Origin", "OPTIONS", "/api/health"),
    step("OPTIONS without an Origin, unknown path", "OPTIONS", "/api/nope"),
    step("crons: run the OTP cleanup", "POST", "/api/crons/__pbOTPCleanup__", SU),
    step("crons: run the MFA cleanup", "POST", "/api/crons/__pbMFACleanup__", SU),
    step("crons: run the database optimisation", "POST", "/api/crons/__pbDBOptimize__", SU),
    step("crons: unknown job", "POST", "/api/crons/__pbNope__", SU),
    step(
        "sql: a literal",
        "POST",
        "/api/sql?fields=columns.name,columns.type,rows",
        SU,
        body={"query": "select 1 as a, null as b"},
    ),
    step(
        "sql: rows",
        "POST",
        "/api/sql?fields=rows",
        SU,
        body={"query": "select email from users order by email limit 2"},
    ),
    step("sql: empty", "POST", "/api/sql", SU, body={"query": ""}),
    step("sql: as a user", "POST", "/api/sql", "user1", body={"query": "select 1"}),
    step("sql: as a guest", "POST", "/api/sql", body={"query": "select 1"}),
]

PQ = "/api/collections/pq/records"
# A point where the cosine of a zero distance rounds to 1.0000000000000002
EDGE = {"lon": -88.0941, "lat": 61.5141}


def pq(name: str, filter_: str, who: str = "guest", sort: str = "title") -> Step:
    return step(f"query: {name}", "GET", PQ + qs(filter=filter_, sort=sort, fields="title"), who)


def qs(**params: str) -> str:
    return "?" + "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())


QUERY_STEPS: list[Step] = [
    step(
        "query: collection",
        "POST",
        "/api/collections?fields=name",
        SU,
        body={
            "name": "pq",
            "listRule": "",
            "viewRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "loc", "type": "geoPoint"},
                {"name": "meta", "type": "json"},
                {"name": "d", "type": "date"},
                {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
            ],
        },
    ),
    step(
        "query: record a",
        "POST",
        PQ + "?fields=title",
        SU,
        body={
            "title": "a",
            "loc": EDGE,
            "meta": {"arr": [1, 2, 3], "k": "abc", "arreach": 7},
            "d": "2024-01-02 10:00:00.000Z",
            "owner": "$user1_id",
        },
    ),
    step(
        "query: record b",
        "POST",
        PQ + "?fields=title",
        SU,
        body={"title": "b", "loc": {"lon": 0, "lat": 0}, "meta": {"arr": [0, 5], "k": "xy"}},
    ),
    step(
        "query: record c",
        "POST",
        PQ + "?fields=title",
        SU,
        body={"title": "c", "meta": {"k": [1, 2, 3]}, "owner": "$user2_id"},
    ),
    pq(
        "geoDistance at the exact point",
        f"geoDistance(loc.lon, loc.lat, {EDGE['lon']}, {EDGE['lat']}) < 1",
    ),
    pq("geoDistance at 0,0", "geoDistance(loc.lon, loc.lat, 0, 0) < 1"),
    pq("json path with :each", "meta.arr:each > 0"),
    pq("json path with :length", "meta.k:length > 2"),
    pq("json path with :lower", "meta.k:lower = 'abc'"),
    pq("json path key with the modifier's letters", "meta.arr:each = 7"),
    pq("strftime of an empty date = ''", "strftime('%Y', d) = ''"),
    pq("strftime of an empty date = null", "strftime('%Y', d) = null"),
    pq("strftime of an empty date != a year", "strftime('%Y', d) != '2024'"),
    pq("strftime of a date", "strftime('%Y-%m', d) = '2024-01'"),
    pq("strftime of an empty date < a year", "strftime('%Y', d) < '2030'"),
    pq("a relation a guest cannot list, in a filter", "owner.name != 'zzz'"),
    pq("a relation a user lists only for itself", "owner.name != 'zzz'", "user1"),
    pq("a hidden relation compared to its value", "owner.email = 'user2@example.com'", "user1"),
    step(
        "query: sort by a relation a guest cannot list",
        "GET",
        PQ + qs(sort="owner.name,title", fields="title"),
    ),
    step(
        "query: sort by a relation, as user2",
        "GET",
        PQ + qs(sort="-owner.name,title", fields="title"),
        "user1",
    ),
]

# A malformed body on every endpoint that reads one: the messages differ by endpoint.
BAD_BODY_ENDPOINTS = [
    ("POST", "/api/collections/posts/records", "guest"),
    ("PATCH", "/api/collections/posts/records/nope", SU),
    ("POST", "/api/realtime", "guest"),
    ("POST", "/api/collections", SU),
    ("PATCH", "/api/collections/posts", SU),
    ("PATCH", SETTINGS, SU),
    ("POST", SETTINGS + "/test/email", SU),
    ("POST", SETTINGS + "/test/s3", SU),
    ("POST", SETTINGS + "/apple/generate-client-secret", SU),
    ("POST", "/api/sql", SU),
    ("POST", DRY_RUN, SU),
    ("PUT", "/api/collections/import", SU),
    ("POST", "/api/backups", SU),
    ("POST", "/api/collections/users/request-password-reset", "guest"),
    ("POST", "/api/collections/users/confirm-password-reset", "guest"),
    ("POST", "/api/collections/users/request-verification", "guest"),
    ("POST", "/api/collections/users/confirm-verification", "guest"),
    ("POST", "/api/collections/users/confirm-email-change", "guest"),
]
BAD_BODY_STEPS: list[Step] = [
    step(
        f"bad body: {method} {url} ({label})",
        method,
        url,
        who,
        raw=raw,
        content_type="application/json",
    )
    for method, url, who in BAD_BODY_ENDPOINTS
    for label, raw in (("broken", "{bad"), ("a list", "[1,2]"))
] + [
    # JSON null reads as an empty body. (Not where PocketBase answers 500: PATCH
    # /api/settings, confirm-password-reset; nor PATCH /api/collections/X, where it
    # blanks the name; nor POST /api/backups, which would make a backup.)
    step(f"bad body: {method} {url} (null)", method, url, who, raw="null",
         content_type="application/json")
    for method, url, who in BAD_BODY_ENDPOINTS
    if method != "PATCH" and not url.endswith(("/api/backups", "/confirm-password-reset"))
] + [
    step(f"S3 test: {body}", "POST", SETTINGS + "/test/s3", SU, body=body)
    for body in ({}, {"filesystem": "x"}, {"filesystem": 5})
]  # fmt: skip

PARITY_STEPS: list[Step] = [
    *SUPERUSER_IPS_STEPS,
    *SETTINGS_STEPS,
    *ENDPOINT_STEPS,
    *QUERY_STEPS,
    *BAD_BODY_STEPS,
]
