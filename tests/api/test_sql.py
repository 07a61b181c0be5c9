"""``POST /api/sql`` (SDK ``pb.sql.run``): superusers' read queries; writes never run."""

from __future__ import annotations

from typing import Any

from tests.api.scenario import Scenario, World, params, run

URL = "/api/sql"
FAILED = "Failed to execute query. Raw error:\n"


def sql(name: str, query: Any, status: int = 200, who: str = "superuser", **extra: Any) -> Scenario:
    return Scenario(name, "POST", URL, who=who, body={"query": query}, status=status, **extra)


LEFT_ALONE = (
    Scenario(
        "users are all still there",
        "GET",
        "/api/collections/users/records",
        "superuser",
        contains={"totalItems": 2},
    ),
)

SCENARIOS = [
    sql("as a guest", "select 1 as a", 401, "guest"),
    sql("as a user", "select 1 as a", 403, "user1"),
    sql(
        "a literal",
        "select 1 as a, null as b",
        contains={
            "affectedRows": 0,
            "columns": [{"name": "a", "nullable": True}, {"name": "b"}],
            "rows": [["1", None]],
        },
    ),
    sql(
        "rows of a collection",
        "select email from users order by email",
        contains={"rows": [["user1@example.com"], ["user2@example.com"]]},
    ),
    sql(
        "no rows keeps the columns",
        "select id from users where 1 = 0",
        contains={"columns": [{"name": "id"}], "rows": []},
    ),
    sql(
        "at most 1000 rows",
        "with recursive n(x) as (select 1 union all select x + 1 from n where x < 1500) select x from n",
    ),
    sql("empty", "", 400, contains={"data": {"query": {"code": "validation_required"}}}),
    sql(
        "too long",
        "a" * 5001,
        400,
        contains={"data": {"query": {"code": "validation_length_too_long"}}},
    ),
    sql("not a string", 5, 400),
    sql("a syntax error", "select from where", 400),
    sql("a delete is refused", "delete from users", 400, after=LEFT_ALONE),
    sql("a drop is refused", "  DROP TABLE users", 400, after=LEFT_ALONE),
    sql(
        "a write hidden in a CTE fails in the database",
        "with gone as (delete from users returning id) select id from gone",
        400,
        after=LEFT_ALONE,
    ),
    sql("two statements", "select 1; delete from users", 400, after=LEFT_ALONE),
]


@params(SCENARIOS)
def test_sql(world: World, scenario: Scenario) -> None:
    data = run(world, scenario)
    if scenario.name == "at most 1000 rows":
        assert len(data["rows"]) == 1000
    if scenario.status == 400 and "refused" in scenario.name:
        assert data["message"].startswith(FAILED)
