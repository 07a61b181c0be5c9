"""``GET /api/collections/{c}/aggregate``: counts and sums under the list rule.

The world is the one of ``test_search.py``: four posts, two published; user1
owns one unpublished post, user2 another; Bob (an author) is not listable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from keelbase.core.request_info import SYSTEM, RequestInfo
from tests.api.conftest import serving
from tests.api.scenario import Scenario, World, params, run
from tests.api.test_search import make_world
from tests.api.worlds import Template

URL = "/api/collections/posts/aggregate"


@pytest.fixture(scope="module")
def template(base: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    with base.extend(tmp_path_factory.mktemp("aggregates") / "kb_data", make_world) as extended:
        yield extended


def agg(name: str, who: str, query: str, status: int = 200, **extra: Any) -> Scenario:
    return Scenario(name, "GET", f"{URL}?{query}", who, status=status, **extra)


def open_closed(open_: dict[str, Any], closed: dict[str, Any]) -> dict[str, Any]:
    return {
        "items": [
            {"group": {"status": "closed"}, **closed},
            {"group": {"status": "open"}, **open_},
        ],
        "truncated": False,
    }


SCENARIOS = [
    agg(
        "a guest sums only the published posts",
        "guest",
        "groupBy=status&sum=price,qty",
        contains=open_closed(
            {"count": 1, "sum": {"price": 10, "qty": 2}},
            {"count": 1, "sum": {"price": 3, "qty": 10}},
        ),
    ),
    agg(
        "their owner counts the unpublished one too",
        "user1",
        "groupBy=status&sum=price",
        contains=open_closed({"count": 2, "sum": {"price": 15.5}}, {"count": 1}),
    ),
    agg(
        "a superuser counts every post",
        "superuser",
        "groupBy=status&avg=price&min=price,title&max=qty",
        contains=open_closed(
            {"count": 2, "avg": {"price": 7.75}, "min": {"price": 5.5, "title": "Green apples"}},
            {"count": 2, "avg": {"price": 2}, "max": {"qty": 10}},
        ),
    ),
    agg(
        "no groups: one row over everything",
        "guest",
        "sum=price",
        contains={"items": [{"count": 2, "sum": {"price": 13}}]},
        absent=("group",),
    ),
    agg(
        "nothing matches: count 0, sum 0, the rest null",
        "guest",
        "sum=price&avg=price&filter=" + quote("price > 1000"),
        contains={"items": [{"count": 0, "sum": {"price": 0}, "avg": {"price": None}}]},
    ),
    agg(
        "with a filter",
        "superuser",
        "groupBy=status&filter=" + quote("price >= 5"),
        contains={"items": [{"group": {"status": "open"}, "count": 2}]},
    ),
    agg(
        "with a filter through a relation (rows picked by a subquery)",
        "superuser",
        "sum=qty&groupBy=status&filter=" + quote("author.name = 'Ann'"),
        contains={
            "items": [
                {"group": {"status": "closed"}, "count": 1, "sum": {"qty": 10}},
                {"group": {"status": "open"}, "count": 1, "sum": {"qty": 2}},
            ]
        },
    ),
    agg(
        "a guest's filter through a relation obeys the related list rule",
        "user1",
        "filter=" + quote("author.name != ''"),
        contains={"items": [{"count": 2}]},
    ),
    agg(
        "with a search",
        "guest",
        "sum=qty&filter=" + quote("search('apples')"),
        contains={"items": [{"count": 2, "sum": {"qty": 12}}]},
    ),
    agg(
        "grouped by a relation path, related rules applied",
        "user1",
        "groupBy=author.name&sort=-count",
        contains={"items": [{"group": {"author.name": "Ann"}, "count": 2}], "truncated": False},
    ),
    agg(
        "a superuser sees every author",
        "superuser",
        "groupBy=author.name",
        contains={
            "items": [
                {"group": {"author.name": None}, "count": 1},
                {"group": {"author.name": "Ann"}, "count": 2},
                {"group": {"author.name": "Bob"}, "count": 1},
            ]
        },
    ),
    agg(
        "booleans are booleans",
        "superuser",
        "groupBy=published",
        contains={
            "items": [
                {"group": {"published": False}, "count": 2},
                {"group": {"published": True}, "count": 2},
            ]
        },
    ),
    agg(
        "sorted by a sum, limited",
        "superuser",
        "groupBy=status&sum=qty&sort=-sum.qty&limit=1",
        contains={
            "items": [{"group": {"status": "closed"}, "sum": {"qty": 11}}],
            "limit": 1,
            "truncated": True,
        },
    ),
    agg("the sum of a text field", "superuser", "sum=title", 400, contains={"data": {"sum": {}}}),
    agg("the avg of a bool", "superuser", "avg=published", 400),
    agg("count=true is the count", "guest", "count=true", contains={"items": [{"count": 2}]}),
    agg("count of fields", "guest", "count=price", 400, contains={"data": {"count": {}}}),
    agg("an unknown field", "superuser", "groupBy=nope", 400, contains={"data": {"groupBy": {}}}),
    agg("an unknown min field", "guest", "min=nope", 400),
    agg("a hidden field for a guest", "guest", "groupBy=secret", 400),
    agg(
        "a hidden field for a superuser",
        "superuser",
        "groupBy=secret",
        contains={"items": [{"count": 1}] * 4},
    ),
    agg("a macro", "superuser", "groupBy=@now", 400),
    agg("a limit of 0", "superuser", "groupBy=status&limit=0", 400),
    agg("a limit too large", "superuser", "groupBy=status&limit=5000", 400),
    agg("a limit that is no number", "superuser", "limit=x", 400),
    agg("an unknown sort key", "superuser", "groupBy=status&sort=price", 400),
    agg("too many groups", "superuser", "groupBy=title,status,qty,price,body", 400),
    agg("a bad filter", "guest", "filter=" + quote("price >"), 400),
    agg(
        "a filter on @request for a guest", "guest", "filter=" + quote("@request.auth.id = ''"), 403
    ),
    Scenario(
        "a locked collection, as a guest", "GET", "/api/collections/locked/aggregate", status=403
    ),
    Scenario(
        "a locked collection, as a superuser",
        "GET",
        "/api/collections/locked/aggregate",
        "superuser",
        contains={"items": [{"count": 0}]},
    ),
    Scenario(
        "an unknown collection", "GET", "/api/collections/nope/aggregate", "superuser", status=404
    ),
]


@params(SCENARIOS)
def test_aggregates(world: World, scenario: Scenario) -> None:
    run(world, scenario)


def test_app_aggregate_for_hooks(tmp_path: Path, db_url: str) -> None:
    """``app.aggregate`` applies no rule unless it is given a caller's ``info``."""

    async def main() -> None:
        async with serving(tmp_path / "kb_data", db_url) as (app, _client):
            await app.collections.create(
                {
                    "name": "orders",
                    "listRule": "paid = true",
                    "fields": [
                        {"name": "total", "type": "number"},
                        {"name": "paid", "type": "bool"},
                    ],
                }
            )
            orders = app.records.collection("orders")
            for total, paid in ((2, True), (3.5, False), (4, True)):
                await app.records.create(orders, {"total": total, "paid": paid}, SYSTEM)
            every = await app.aggregate("orders", sum=["total"], max=["total"])
            assert every["items"] == [{"count": 3, "sum": {"total": 9.5}, "max": {"total": 4}}]
            paid = await app.aggregate(
                "orders", group_by=["paid"], filter="total > {:least}", params={"least": 2}
            )
            assert paid["items"] == [
                {"group": {"paid": False}, "count": 1},
                {"group": {"paid": True}, "count": 1},
            ]
            guest = await app.aggregate("orders", sum=["total"], info=RequestInfo())
            assert guest["items"] == [{"count": 2, "sum": {"total": 6}}]

    asyncio.run(main())
