"""Endpoints PocketBase has that were missing: dry-run of a view query, OPTIONS
without an Origin, and its system cron jobs."""

from __future__ import annotations

import time
from typing import Any

from keelbase.services.auth import refs
from tests.api.scenario import Scenario, World, params, run

DRY_RUN = "/api/collections/meta/dry-run-view"


def dry(name: str, query: Any, status: int = 200, who: str = "superuser", **extra: Any) -> Scenario:
    return Scenario(name, "POST", DRY_RUN, who=who, body={"query": query}, status=status, **extra)


INVALID = "Invalid view query. Raw error: \n"

DRY_RUNS = [
    dry("as a guest", "select 1 as id", 401, "guest"),
    dry("as a user", "select 1 as id", 403, "user1"),
    dry(
        "a literal",
        "select 1 as id",
        contains={
            "fields": [{"name": "id", "type": "text", "primaryKey": True}],
            "sample": [{"id": "1"}],
        },
    ),
    dry(
        "fields copied from the source collection",
        "select id, email, name from users",
        contains={
            "fields": [
                {"name": "id"},
                {"name": "email", "type": "email"},
                {"name": "name", "type": "text"},
            ],
            "sample": [{"email": "user1@example.com"}, {"email": "user2@example.com"}],
        },
    ),
    dry(
        "the sample is at most 10 records",
        "with recursive n(x) as (select 1 union all select x + 1 from n where x < 30) "
        "select x as id from n",
    ),
    dry(
        "empty query",
        "",
        400,
        contains={
            "message": "An error occurred while validating the submitted data.",
            "data": {"query": {"code": "validation_required"}},
        },
    ),
    dry(
        "too long",
        "a" * 5001,
        400,
        contains={"data": {"query": {"code": "validation_length_too_long"}}},
    ),
    dry("at the length limit", "select 1 as id" + " " * 4986),
    dry("not a string", 1, 400),
    dry("a write", "CREATE TABLE t1(x INT)", 400, contains={"data": {}}),
    dry("no id column", "select 1 as x", 400),
    dry("empty ids", "select '' as id", 400),
    dry("repeated ids", "select 1 as id union all select 1 as id", 400, contains={"data": {}}),
    dry("a syntax error", "select from", 400),
]


@params(DRY_RUNS)
def test_dry_run_view(world: World, scenario: Scenario) -> None:
    data = run(world, scenario)
    if scenario.name.startswith("the sample"):
        assert len(data["sample"]) == 10
    if scenario.status == 400 and scenario.name not in ("empty query", "too long", "not a string"):
        assert data["message"].startswith(INVALID) or data["message"].startswith("An error")


def test_dry_run_creates_nothing(world: World) -> None:
    before = world.request("GET", "/api/collections?perPage=1", "superuser").json()["totalItems"]
    answer = world.request("POST", DRY_RUN, "superuser", json={"query": "select id from users"})
    assert answer.status_code == 200
    after = world.request("GET", "/api/collections?perPage=1", "superuser").json()["totalItems"]
    assert after == before


def test_options_without_origin_is_204(world: World) -> None:
    for url in ("/api/health", "/api/nope", "/api/collections/users/records"):
        answer = world.client.options(url)
        assert answer.status_code == 204, url
        assert answer.content == b""
        assert "access-control-allow-origin" not in answer.headers


def test_system_cron_jobs_are_listed_after_the_apps_own(world: World) -> None:
    world.app.cron("zz_mine", "0 1 * * *", lambda: None)
    world.app.cron("aa_mine", "0 2 * * *", lambda: None)
    listed = world.request("GET", "/api/crons", "superuser").json()
    assert [job["id"] for job in listed] == [
        "aa_mine",
        "zz_mine",
        "__pbDBOptimize__",
        "__pbMFACleanup__",
        "__pbOTPCleanup__",
        "__kbSyncPrune__",
        "__pbLogsCleanup__",
    ]
    assert listed[2:] == [
        {"id": "__pbDBOptimize__", "expression": "0 0 * * *"},
        {"id": "__pbMFACleanup__", "expression": "0 * * * *"},
        {"id": "__pbOTPCleanup__", "expression": "0 * * * *"},
        {"id": "__kbSyncPrune__", "expression": "15 * * * *"},
        {"id": "__pbLogsCleanup__", "expression": "0 */6 * * *"},
    ]
    assert world.request("POST", "/api/crons/__pbDBOptimize__", "superuser").status_code == 204
    assert world.request("POST", "/api/crons/__pbOTPCleanup__", "user1").status_code == 403


def _add_refs(world: World) -> dict[str, str]:
    """One fresh and one expired row in each of _otps and _mfas, for user1."""
    app = world.app
    ids: dict[str, str] = {}

    async def add() -> None:
        users = app.records.collection("users")
        user = await app.records.find_by_id(users, world.ids["user1"])
        for name in (refs.OTPS, refs.MFAS):
            for age in ("fresh", "old"):
                extra: dict[str, Any] = (
                    {"sentTo": "user1@example.com"} if name == refs.OTPS else {"method": "password"}
                )
                record = refs.new_ref_record(app.records, name, user, **extra)
                await app.records.insert_trusted(record, plain_password="123456")
                ids[f"{name}-{age}"] = record.id
                if age == "old":  # what waiting would do
                    async with app.store.transaction() as conn:
                        await conn.execute(
                            f'UPDATE "{name}" SET "created" = :c WHERE "id" = :id',
                            {"c": "2020-01-01 00:00:00.000Z", "id": record.id},
                        )

    world.client.portal.call(add)  # type: ignore[union-attr]
    return ids


def _ids(world: World, name: str) -> set[str]:
    listed = world.request("GET", f"/api/collections/{name}/records?perPage=100", "superuser")
    return {item["id"] for item in listed.json()["items"]}


def _wait_for(check: Any) -> None:
    deadline = time.monotonic() + 5
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_otp_and_mfa_cleanup_jobs_delete_only_expired_rows(world: World) -> None:
    ids = _add_refs(world)
    for name in (refs.OTPS, refs.MFAS):
        assert {ids[f"{name}-fresh"], ids[f"{name}-old"]} <= _ids(world, name)
    job = {refs.OTPS: "__pbOTPCleanup__", refs.MFAS: "__pbMFACleanup__"}
    for name in (refs.OTPS, refs.MFAS):
        assert world.request("POST", f"/api/crons/{job[name]}", "superuser").status_code == 204
        _wait_for(lambda name=name: ids[f"{name}-old"] not in _ids(world, name))
        remaining = _ids(world, name)
        assert ids[f"{name}-old"] not in remaining
        assert ids[f"{name}-fresh"] in remaining
