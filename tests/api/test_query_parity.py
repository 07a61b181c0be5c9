"""Filters and sorts that answer as PocketBase's: a point's own distance, modifiers on JSON
paths, strftime of an empty date, and relations to records the caller may not list."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.api.scenario import Scenario, World, params, run
from tests.api.worlds import Template

URL = "/api/collections/places/records"
EDGE = {"lon": -88.0941, "lat": 61.5141}  # the cosine of its zero distance rounds past 1

SETUP = [
    Scenario("places", "POST", "/api/collections", "superuser", body={
        "name": "places", "listRule": "", "viewRule": "",
        "fields": [{"name": "title", "type": "text"}, {"name": "loc", "type": "geoPoint"},
                   {"name": "meta", "type": "json"}, {"name": "d", "type": "date"},
                   {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"}]}),
    Scenario("a", "POST", URL, "superuser", body={
        "title": "a", "loc": EDGE, "meta": {"arr": [1, 2], "k": "abc", "arreach": 7},
        "d": "2024-01-02 10:00:00.000Z", "owner": "$user1"}),
    Scenario("b", "POST", URL, "superuser", body={"title": "b", "loc": {"lon": 0, "lat": 0}}),
    Scenario("c", "POST", URL, "superuser", body={"title": "c", "owner": "$user2"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def template(base: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    with base.extend(tmp_path_factory.mktemp("query_parity") / "kb_data", *SETUP) as extended:
        yield extended


def titles(
    name: str, filter_: str, expected: list[str], who: str = "guest", sort: str = "title"
) -> Scenario:
    url = f"{URL}?fields=title&perPage=50&sort={quote(sort)}&filter={quote(filter_)}"
    return Scenario(name, "GET", url, who, contains={"items": [{"title": t} for t in expected]})


SCENARIOS = [
    titles(
        "a record exactly at the point",
        f"geoDistance(loc.lon, loc.lat, {EDGE['lon']}, {EDGE['lat']}) < 1",
        ["a"],
    ),
    titles("at 0,0 (an empty point is 0,0)", "geoDistance(loc.lon, loc.lat, 0, 0) < 1", ["b", "c"]),
    titles(":each on a JSON path is part of the key (arreach)", "meta.arr:each > 0", ["a"]),
    titles("the key it names", "meta.arr:each = 7", ["a"]),
    titles(":length on a JSON path", "meta.k:length > 0", []),
    titles("strftime of an empty date", "strftime('%Y', d) = ''", ["b", "c"]),
    titles("strftime of an empty date = null", "strftime('%Y', d) = null", ["b", "c"]),
    titles("strftime of a date", "strftime('%Y', d) = '2024'", ["a"]),
    titles(
        "a guest: rows linked to users it cannot list are left out", "owner.name != 'zzz'", ["b"]
    ),
    titles("user1 lists only itself", "owner.name != 'zzz'", ["a", "b"], "user1"),
    titles(
        "nothing to learn about a hidden value", "owner.email = 'user2@example.com'", [], "user1"
    ),
    titles(
        "the superuser sees every relation", "owner.name != 'zzz'", ["a", "b", "c"], "superuser"
    ),
    titles("sorting by a relation a guest cannot list", "", ["b"], sort="owner.name,title"),
    titles("sorting by it as user1", "", ["b", "a"], "user1", sort="owner.name,title"),
]


@params(SCENARIOS)
def test_query_parity(world: World, scenario: Scenario) -> None:
    run(world, scenario)
