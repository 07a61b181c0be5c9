"""``/api/logs``: who may read, filters, sort, paging and stats over known entries.

The table's template keeps five entries of May 2022 (``FIXTURES``), keeps every level, and logs
nothing older than 36,500 days away, so they stay. Requests of the scenarios
themselves are logged too (today's date), so the data scenarios look at 2022.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from tests.api.conftest import serving, superuser_headers
from tests.api.scenario import Scenario, World, run
from tests.api.worlds import Template

OLD = 'created < "2023-01-01"'
FIXTURES: list[tuple[str, int, str, dict[str, Any], str]] = [
    ("log1aaaaaaaaaaa", 0, "GET /api/one", {"type": "request", "status": 200, "method": "GET", "execTime": 1.5}, "2022-05-01 10:00:00.123Z"),
    ("log2aaaaaaaaaaa", 8, "POST /api/two", {"type": "request", "status": 400, "method": "POST", "auth": "users", "error": "bad"}, "2022-05-01 10:30:00.000Z"),
    ("log3aaaaaaaaaaa", 4, "slow job", {"job": "x", "tags": ["a", "b"], "nested": {"n": 3}}, "2022-05-01 11:05:00.000Z"),
    ("log4aaaaaaaaaaa", -4, "debug thing", {}, "2022-05-02 09:00:00.000Z"),
    ("log5aaaaaaaaaaa", 8, "GET /api/five", {"type": "request", "status": 500, "method": "GET"}, "2022-05-02 09:59:59.999Z"),
]  # fmt: skip


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def q(**params: str) -> str:
    return "?" + "&".join(f"{key}={quote(value)}" for key, value in params.items())


def ids(*numbers: int) -> list[dict[str, str]]:
    return [{"id": f"log{n}aaaaaaaaaaa"} for n in numbers]


def store_fixtures(world: World) -> None:
    patched = world.request(
        "PATCH", "/api/settings", "superuser", json={"logs": {"maxDays": 36500, "minLevel": -4}}
    )
    assert patched.status_code == 200, patched.text
    assert world.request("DELETE", "/api/logs", "superuser").status_code == 204
    rows = [
        (id_, level, msg, orjson.dumps(data).decode(), at) for id_, level, msg, data, at in FIXTURES
    ]
    world.client.portal.call(world.app.logs.store.insert, rows)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def template(base: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    with base.extend(tmp_path_factory.mktemp("logs") / "kb_data", store_fixtures) as template:
        yield template


def flush(world: World) -> None:
    world.client.portal.call(world.app.logs.flush)  # type: ignore[union-attr]


def listed(world: World, **params: str) -> dict[str, Any]:
    flush(world)
    answer = world.request("GET", "/api/logs" + q(**params), "superuser")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


SCENARIOS = [
    Scenario("guest list", "GET", "/api/logs", status=401, contains={"data": {}}),
    Scenario("user list", "GET", "/api/logs", "user1", status=403, contains={"data": {}}),
    Scenario("guest view", "GET", "/api/logs/log1aaaaaaaaaaa", status=401),
    Scenario("user view", "GET", "/api/logs/log1aaaaaaaaaaa", "user1", status=403),
    Scenario("guest stats", "GET", "/api/logs/stats", status=401),
    Scenario("user stats", "GET", "/api/logs/stats", "user1", status=403),
    Scenario("user delete", "DELETE", "/api/logs", "user1", status=403),
    Scenario("guest delete", "DELETE", "/api/logs", status=401),
    Scenario(
        "list, insertion order",
        "GET", "/api/logs" + q(filter=OLD), "superuser",
        contains={"page": 1, "perPage": 30, "totalItems": 5, "totalPages": 1, "items": ids(1, 2, 3, 4, 5)},
    ),
    Scenario(
        "an entry's shape",
        "GET", "/api/logs" + q(filter=f'{OLD} && id = "log2aaaaaaaaaaa"'), "superuser",
        contains={"items": [{"id": "log2aaaaaaaaaaa", "created": "2022-05-01 10:30:00.000Z", "level": 8,
                             "message": "POST /api/two", "data": FIXTURES[1][3]}]},
    ),
    Scenario("filter data.status", "GET", "/api/logs" + q(filter=f"{OLD} && data.status>200"), "superuser",
             contains={"items": ids(2, 5)}),
    Scenario("filter level and message", "GET", "/api/logs" + q(filter=f'{OLD} && level >= 4 && message ~ "api"'),
             "superuser", contains={"items": ids(2, 5)}),
    Scenario("filter data.type", "GET", "/api/logs" + q(filter=f'{OLD} && data.type = "request"'), "superuser",
             contains={"totalItems": 3}),
    Scenario("filter nested data path", "GET", "/api/logs" + q(filter="data.nested.n = 3"), "superuser",
             contains={"items": ids(3)}),
    Scenario("filter array item", "GET", "/api/logs" + q(filter='data.tags.1 = "b"'), "superuser",
             contains={"items": ids(3)}),
    Scenario("filter a missing key", "GET", "/api/logs" + q(filter=f"{OLD} && data.status = null"), "superuser",
             contains={"items": ids(3, 4)}),
    Scenario("sort -created", "GET", "/api/logs" + q(filter=OLD, sort="-created"), "superuser",
             contains={"items": ids(5, 4, 3, 2, 1)}),
    Scenario("sort -@rowid", "GET", "/api/logs" + q(filter=OLD, sort="-@rowid"), "superuser",
             contains={"items": ids(5, 4, 3, 2, 1)}),
    Scenario("sort level then -created", "GET", "/api/logs" + q(filter=OLD, sort="level,-created"), "superuser",
             contains={"items": ids(4, 1, 3, 5, 2)}),
    Scenario("sort by a data path", "GET", "/api/logs" + q(filter=f"{OLD} && data.status > 0", sort="-data.status"), "superuser",
             contains={"items": ids(5, 2, 1)}),
    Scenario("paging", "GET", "/api/logs" + q(filter=OLD, page="2", perPage="2"), "superuser",
             contains={"page": 2, "perPage": 2, "totalItems": 5, "totalPages": 3, "items": ids(3, 4)}),
    Scenario("past the last page", "GET", "/api/logs" + q(filter=OLD, page="9", perPage="2"), "superuser",
             contains={"items": [], "totalItems": 5}),
    Scenario("skipTotal", "GET", "/api/logs" + q(filter=OLD, skipTotal="1", perPage="1"), "superuser",
             contains={"totalItems": -1, "totalPages": -1, "items": ids(1)}),
    Scenario("view", "GET", "/api/logs/log3aaaaaaaaaaa", "superuser",
             contains={"id": "log3aaaaaaaaaaa", "level": 4, "message": "slow job", "data": FIXTURES[2][3],
                       "created": "2022-05-01 11:05:00.000Z"}),
    Scenario("view missing", "GET", "/api/logs/missing", "superuser", status=404,
             contains={"status": 404, "message": "The requested resource wasn't found.", "data": {}}),
    Scenario(
        "stats",
        "GET", "/api/logs/stats" + q(filter=OLD), "superuser",
        contains=[{"date": "2022-05-01 10:00:00.000Z", "total": 2}, {"date": "2022-05-01 11:00:00.000Z", "total": 1},
                  {"date": "2022-05-02 09:00:00.000Z", "total": 2}],
    ),
    Scenario("stats filtered", "GET", "/api/logs/stats" + q(filter=f"{OLD} && data.status>200"), "superuser",
             contains=[{"date": "2022-05-01 10:00:00.000Z", "total": 1}, {"date": "2022-05-02 09:00:00.000Z", "total": 1}]),
    Scenario("stats of nothing", "GET", "/api/logs/stats" + q(filter='message = "none such"'), "superuser",
             contains=[]),
    Scenario("bad filter", "GET", "/api/logs" + q(filter="level >>"), "superuser", status=400,
             contains={"status": 400, "message": "Something went wrong while processing your request."}),
    Scenario("unknown filter field", "GET", "/api/logs" + q(filter="nope = 1"), "superuser", status=400),
    Scenario("no @request in log filters", "GET", "/api/logs" + q(filter="@request.auth.id != ''"),
             "superuser", status=400),
    Scenario("bad sort field", "GET", "/api/logs" + q(sort="nope"), "superuser", status=400),
    Scenario("bad page", "GET", "/api/logs" + q(page="x"), "superuser", status=400),
    Scenario("bad stats filter", "GET", "/api/logs/stats" + q(filter="level >>"), "superuser", status=400,
             contains={"status": 400, "message": "Invalid filter format.", "data": {}}),
    Scenario(
        "delete all",
        "DELETE", "/api/logs", "superuser", status=204,
        after=(Scenario("nothing left", "GET", "/api/logs" + q(filter=OLD), "superuser",
                        contains={"totalItems": 0, "items": []}),),
    ),
]  # fmt: skip


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_logs_api(world: World, scenario: Scenario) -> None:
    run(world, scenario)


def request_entry(world: World, request_id: str) -> dict[str, Any]:
    found = listed(world, filter=f'data.requestId = "{request_id}"')["items"]
    assert len(found) == 1, found
    entry: dict[str, Any] = found[0]
    return entry


def test_request_entries_have_pocketbase_fields(world: World) -> None:
    answer = world.client.get(
        "/api/collections/users/records?perPage=1",
        headers={**world.headers("superuser"), "Referer": "http://ref/", "User-Agent": "probe/1"},
    )
    assert answer.status_code == 200
    entry = request_entry(world, answer.headers["x-request-id"])
    assert entry["level"] == 0
    assert entry["message"] == "GET /api/collections/users/records?perPage=1"
    data = entry["data"]
    assert data["type"] == "request" and data["method"] == "GET" and data["status"] == 200
    assert data["url"] == "/api/collections/users/records?perPage=1"
    assert data["auth"] == "_superusers" and "authId" not in data  # logAuthId is off by default
    assert (data["referer"], data["userAgent"]) == ("http://ref/", "probe/1")
    assert data["userIP"] == data["remoteIP"] == "testclient"
    assert isinstance(data["execTime"], float) and data["execTime"] >= 0
    assert "error" not in data


def test_failed_requests_are_errors_with_details(world: World) -> None:
    answer = world.request("POST", "/api/collections/users/records", "guest", json={"email": "x"})
    assert answer.status_code == 400
    entry = request_entry(world, answer.headers["x-request-id"])
    assert entry["level"] == 8
    assert entry["data"]["status"] == 400
    assert entry["data"]["error"] == answer.json()["message"]
    assert entry["data"]["details"] == answer.json()["data"]
    assert entry["data"]["auth"] == ""
    assert "traceback" not in entry["data"]


def test_a_token_the_route_never_read_is_resolved_for_the_entry(world: World) -> None:
    answer = world.client.get("/api/health", headers=world.headers("user1"))
    entry = request_entry(world, answer.headers["x-request-id"])
    assert entry["data"]["auth"] == "users"
    answer = world.client.get("/api/health", headers={"Authorization": "not-a-token"})
    assert request_entry(world, answer.headers["x-request-id"])["data"]["auth"] == ""


def test_log_ip_off_hides_ips_and_log_auth_id_on_shows_the_id(world: World) -> None:
    settings = {"logs": {"logIP": False, "logAuthId": True}}
    assert world.request("PATCH", "/api/settings", "superuser", json=settings).status_code == 200
    answer = world.client.get("/api/health", headers=world.headers("user1"))
    data = request_entry(world, answer.headers["x-request-id"])["data"]
    assert "userIP" not in data and "remoteIP" not in data
    user = world.request(
        "GET", "/api/collections/users/records?filter=email='user1@example.com'", "superuser"
    )
    assert data["authId"] == user.json()["items"][0]["id"]


def test_reading_the_logs_is_not_logged_unless_it_fails(world: World) -> None:
    ok = world.request("GET", "/api/logs", "superuser")
    refused = world.request("GET", "/api/logs", "user1")
    assert listed(world, filter=f'data.requestId = "{ok.headers["x-request-id"]}"')["items"] == []
    assert request_entry(world, refused.headers["x-request-id"])["data"]["status"] == 403


def test_min_level_drops_entries_below_it(world: World) -> None:
    assert (
        world.request(
            "PATCH", "/api/settings", "superuser", json={"logs": {"minLevel": 4}}
        ).status_code
        == 200
    )
    ok = world.client.get("/api/health")
    failed = world.client.get("/api/collections/nope/records")
    world.app.logger.info("dropped")
    world.app.logger.warn("kept", n=1)
    assert listed(world, filter=f'data.requestId = "{ok.headers["x-request-id"]}"')["items"] == []
    assert request_entry(world, failed.headers["x-request-id"])["level"] == 8
    assert [
        e["message"]
        for e in listed(world, filter='message = "dropped" || message = "kept"')["items"]
    ] == ["kept"]
    # and what the new minimum would not have kept is gone: the debug entry of 2022
    assert listed(world, filter="level < 4")["items"] == []


def test_max_days_zero_turns_request_logging_off_and_deletes_everything(world: World) -> None:
    requests_log = world.app.logs.requests
    assert requests_log in world.app.asgi.observers
    assert (
        world.request(
            "PATCH", "/api/settings", "superuser", json={"logs": {"maxDays": 0}}
        ).status_code
        == 200
    )
    assert requests_log not in world.app.asgi.observers
    world.client.get("/api/collections/nope/records")
    world.app.logger.error("not kept either")
    flush(world)
    assert (
        world.request(
            "PATCH", "/api/settings", "superuser", json={"logs": {"maxDays": 5}}
        ).status_code
        == 200
    )
    assert requests_log in world.app.asgi.observers
    assert listed(world)["items"] == []


def test_retention_job_deletes_entries_older_than_max_days(world: World) -> None:
    from datetime import timedelta

    from keelbase.core.dates import format_datetime, now

    old = format_datetime(now() - timedelta(days=6))
    recent = format_datetime(now() - timedelta(days=4))
    rows = [
        ("oldaaaaaaaaaaaa", 0, "old", "{}", old),
        ("recentaaaaaaaaa", 0, "recent", "{}", recent),
    ]
    world.client.portal.call(world.app.logs.store.insert, rows)  # type: ignore[union-attr]
    crons = world.request("GET", "/api/crons", "superuser").json()
    assert {"id": "__pbLogsCleanup__", "expression": "0 */6 * * *"} in crons
    # maxDays is 36500 in this table: the job keeps both until it is 5
    world.client.portal.call(world.app.crons.run, "__pbLogsCleanup__")  # type: ignore[union-attr]
    assert listed(world, filter='message = "old"')["totalItems"] == 1
    world.app.settings.current.logs.maxDays = 5  # as another node's change would read, no PATCH
    world.client.portal.call(world.app.crons.run, "__pbLogsCleanup__")  # type: ignore[union-attr]
    messages = [
        e["message"] for e in listed(world, filter='message = "old" || message = "recent"')["items"]
    ]
    assert messages == ["recent"]
    assert listed(world, filter=OLD)["totalItems"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({"maxDays": -1}, "maxDays"), ({"maxDataSize": -1}, "maxDataSize")],
)
def test_bad_log_settings_are_refused(world: World, body: dict[str, int], field: str) -> None:
    answer = world.request("PATCH", "/api/settings", "superuser", json={"logs": body})
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["data"]["logs"]


def test_max_data_size_cuts_data(world: World) -> None:
    assert (
        world.request(
            "PATCH", "/api/settings", "superuser", json={"logs": {"maxDataSize": 200}}
        ).status_code
        == 200
    )
    world.app.logger.info("big", first="x" * 50, second="y" * 500)
    entry = listed(world, filter='message = "big"')["items"][0]
    assert entry["data"] == {"first": "x" * 50, "__pb_truncated__": True}


def test_a_5xx_from_a_hook_is_logged_with_its_traceback_and_request_id(world: World) -> None:
    def broken_hook(event: Any) -> None:
        raise RuntimeError("the hook broke")

    world.app.on_records_list("users")(broken_hook)
    answer = world.request("GET", "/api/collections/users/records", "superuser")
    assert answer.status_code == 500
    assert "the hook broke" not in answer.text and "Traceback" not in answer.text
    entry = request_entry(world, answer.headers["x-request-id"])
    assert entry["level"] == 8
    data = entry["data"]
    assert data["status"] == 500 and data["error"] == "RuntimeError: the hook broke"
    assert "Traceback" in data["traceback"] and "broken_hook" in data["traceback"]
    # kept once: the request's entry, not also the error line of the server's log
    assert listed(world, filter='data.traceback ~ "the hook broke"')["totalItems"] == 1


def test_app_logger_from_hook_code(world: World) -> None:
    app = world.app

    async def audit(event: Any) -> None:
        app.logger.info("users listed", who=event.info.auth.id if event.info.auth else "")
        await event.next()

    app.on_records_list("users")(audit)
    assert world.request("GET", "/api/collections/users/records", "user1").status_code == 200
    entries = listed(world, filter='message = "users listed"')["items"]
    assert len(entries) == 1 and entries[0]["level"] == 0 and entries[0]["data"]["who"]


def test_a_failing_cron_job_is_logged_with_its_traceback(world: World) -> None:
    def job() -> None:
        raise ValueError("job failed")

    world.app.crons.add("failing", "0 0 1 1 *", job)
    world.client.portal.call(world.app.crons.run, "failing")  # type: ignore[union-attr]
    entries = listed(world, filter='data.logger = "keelbase.cron"')["items"]
    assert len(entries) == 1, entries
    assert entries[0]["level"] == 8 and entries[0]["message"] == "cron job failing failed"
    assert entries[0]["data"]["error"] == "ValueError: job failed"
    assert "Traceback" in entries[0]["data"]["traceback"]


def test_a_full_queue_drops_entries_and_never_fails_requests(world: World) -> None:
    writer = world.app.logs.writer
    flush(world)
    writer.max_queued = 3
    try:
        for _ in range(10):
            assert world.client.get("/api/health").status_code == 200
        assert writer.dropped >= 7
    finally:
        writer.max_queued = 20_000


def test_logs_stay_in_their_own_database(world: World, tmp_path: Path) -> None:
    if world.app.config.uses_postgres:
        pytest.skip("on PostgreSQL the logs are a table of the app's database")
    assert (world.app.config.data_dir / "auxiliary.db").is_file()
    assert world.app.logs.store.store is not world.app.store


def test_a_failing_after_commit_hook_is_logged_with_the_request_id(world: World) -> None:
    def after_create(event: Any) -> None:
        raise LookupError("after-commit hook broke")

    world.app.on_record_after_create("users")(after_create)
    answer = world.request(
        "POST",
        "/api/collections/users/records",
        json={
            "email": "late@example.com",
            "password": "Passw0rd123",
            "passwordConfirm": "Passw0rd123",
        },
    )
    assert answer.status_code == 200, answer.text  # the commit stands
    entries = listed(world, filter='data.logger = "keelbase.hooks"')["items"]
    assert len(entries) == 1, entries
    data = entries[0]["data"]
    assert entries[0]["level"] == 8
    assert data["requestId"] == answer.headers["x-request-id"]
    assert data["error"] == "LookupError: after-commit hook broke"
    assert "after_create" in data["traceback"]


@pytest.mark.anyio
async def test_concurrent_requests_each_get_one_entry(tmp_path: Path, fresh_db_url: str) -> None:
    async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
        headers = await superuser_headers(app, client)

        async def one(n: int) -> None:
            answer = await client.get(
                f"/api/collections/users/records?perPage={n % 3 + 1}",
                headers={"X-Request-Id": f"concurrent-{n}"},
            )
            assert answer.status_code == 200

        await asyncio.gather(*(one(n) for n in range(120)))
        app.logger.info("after")
        await app.logs.flush()
        listed = await client.get(
            "/api/logs" + q(filter='data.requestId ~ "concurrent-"', perPage="500"), headers=headers
        )
        ids = sorted(e["data"]["requestId"] for e in listed.json()["items"])
        assert ids == sorted(f"concurrent-{n}" for n in range(120))
        assert len({e["id"] for e in listed.json()["items"]}) == 120


def test_secret_query_values_stay_out_of_the_logs(world: World) -> None:
    answer = world.client.get(
        "/api/files/users/nope/file.txt?thumb=10x10&token=eyJsecret.file.token&x=1",
        headers={"Referer": "http://app/cb?code=oauth-code-123&state=s"},
    )
    entry = request_entry(world, answer.headers["x-request-id"])
    text = orjson.dumps(entry).decode()
    assert "eyJsecret" not in text and "oauth-code-123" not in text
    assert entry["data"]["url"] == "/api/files/users/nope/file.txt?thumb=10x10&token=REDACTED&x=1"
    assert entry["data"]["referer"] == "http://app/cb?code=REDACTED&state=s"
    assert entry["message"] == "GET /api/files/users/nope/file.txt?thumb=10x10&token=REDACTED&x=1"


def test_an_export_leaves_the_logs_out(world: World, tmp_path: Path) -> None:
    import zipfile

    from keelbase.services.transfer.service import TransferService

    world.app.logger.info("not exported", marker="logs-export-check")
    flush(world)
    archive = tmp_path / "app.zip"
    world.client.portal.call(TransferService(world.app.store).export, archive)  # type: ignore[union-attr]
    with zipfile.ZipFile(archive) as zf:
        everything = b"".join(zf.read(name) for name in zf.namelist())
    assert b"logs-export-check" not in everything and b"_logs" not in everything
