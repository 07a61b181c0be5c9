"""The same data and the same filters on SQLite and on PostgreSQL: the same answers.

SQLite compares values of any two types, PostgreSQL does not; the PostgreSQL
dialect casts both sides so that a filter selects the same rows. This runs
many filters (mixed types, empty values, multi-valued fields, json paths,
dates, geoDistance) through both stores and compares the whole answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from keelbase import App, Config
from tests.pg import fresh_database

pytestmark = pytest.mark.postgres

ADMIN = ("admin@example.com", "Passw0rd123")

FIELDS = [
    {"name": "title", "type": "text"},
    {"name": "n", "type": "number"},
    {"name": "flag", "type": "bool"},
    {"name": "tags", "type": "select", "maxSelect": 3, "values": ["a", "b", "c"]},
    {"name": "kind", "type": "select", "maxSelect": 1, "values": ["x", "y"]},
    {"name": "meta", "type": "json"},
    {"name": "when", "type": "date"},
    {"name": "loc", "type": "geoPoint"},
    {"name": "site", "type": "url"},
]

RECORDS: list[dict[str, Any]] = [
    {"id": "aaaaaaaaaaaaaa1", "title": "Alpha", "n": 10, "flag": True, "tags": ["a", "b"],
     "kind": "x", "meta": {"k": 1, "s": "hi", "list": [1, 2]}, "when": "2024-01-02 10:00:00.000Z",
     "loc": {"lon": 13.4, "lat": 52.5}, "site": "https://a.example"},
    {"id": "aaaaaaaaaaaaaa2", "title": "beta", "n": 2.5, "flag": False, "tags": ["c"],
     "kind": "y", "meta": {"k": 2, "zz": True, "a": None}, "when": "2023-06-30 23:59:59.999Z",
     "loc": {"lon": 2.35, "lat": 48.85}},
    {"id": "aaaaaaaaaaaaaa3", "title": "", "n": 0, "flag": False, "tags": [], "kind": "",
     "meta": None, "when": ""},
    {"id": "aaaaaaaaaaaaaa4", "title": "10", "n": -3, "flag": True, "tags": ["a"], "kind": "x",
     "meta": "plain", "when": "2025-12-31 00:00:00.000Z"},
    {"id": "aaaaaaaaaaaaaa5", "title": "100% sure_thing", "n": 100, "flag": False,
     "tags": ["b", "a"], "kind": "y", "meta": [1, "two", {"three": 3}],
     "when": "2024-02-29 12:30:00.000Z"},
]  # fmt: skip

FILTERS = [
    "title = 'Alpha'",
    "title != 'Alpha'",
    "title = ''",
    "title != ''",
    "title = null",
    "title = 10",
    "title = '10'",
    "title > 'B'",
    "title < 'b'",
    "title ~ 'ALP'",
    "title ~ '%'",
    "title ~ '100\\%'",
    "title ~ 'sure_'",
    "title !~ 'a'",
    "title ~ 10",
    "n = 10",
    "n = '10'",
    "n > '5'",
    "n > 5",
    "n >= 2.5",
    "n < 0",
    "n = ''",
    "n != ''",
    "n = null",
    "n != 0",
    "n > 'abc'",
    "n < 'abc'",
    "n ~ '0'",
    "flag = true",
    "flag = false",
    "flag != true",
    "flag = 1",
    "flag = 'true'",
    "flag = ''",
    "tags ?= 'a'",
    "tags = 'a'",
    "tags ?!= 'a'",
    "tags != 'a'",
    "tags:length = 2",
    "tags:length > 0",
    "tags:each = 'a'",
    "tags:each ?= 'c'",
    "tags ~ 'b'",
    "tags = ''",
    "tags != ''",
    "tags = '[]'",
    "kind = 'x'",
    "kind = ''",
    "kind:each = 'x'",
    "kind:length = 1",
    "meta.k = 1",
    "meta.k > 1",
    "meta.k = '1'",
    "meta.s = 'hi'",
    "meta.s ~ 'H'",
    "meta.zz = true",
    "meta.a = null",
    "meta.missing = null",
    "meta.list.0 = 1",
    "meta.2.three = 3",
    "meta = null",
    "meta != null",
    "meta ~ 'plain'",
    "when > '2024-01-01'",
    "when < @now",
    "when = ''",
    "when >= '2024-01-02 10:00:00.000Z'",
    "strftime('%Y', when) = '2024'",
    "strftime('%Y-%m', when) = '2024-02'",
    "strftime('%d', when, 'start of month') = '01'",
    "strftime('%H:%M', when) = '10:00'",
    "strftime('%j', when) = '060'",
    "strftime('%w', when) = '4'",
    "strftime('%s', when) > '1700000000'",
    "strftime('%Y', when, '+1 years') = '2025'",
    "strftime('%Y') > '2000'",
    "geoDistance(loc.lon, loc.lat, 13.4, 52.5) < 1",
    "geoDistance(loc.lon, loc.lat, 13.4, 52.5) > 800",
    "loc.lon > 10",
    "site = ''",
    "site ~ 'example'",
    "title:lower = 'alpha'",
    "title:lower ~ 'BETA'",
    "@request.auth.id = ''",
    "@request.auth.id != ''",
    "(n > 1 && flag = true) || title = ''",
    "n > 1 && (tags ?= 'b' || kind = 'y')",
    "id = 'aaaaaaaaaaaaaa1' || id = 'aaaaaaaaaaaaaa5'",
    "created > '2000-01-01'",
    "@collection.things.title ?= title",
    "@collection.things.n ?> n",
]

SORTS = ["title", "-n", "n,title", "-flag,title", "when", "-when,id", "-title", "@rowid", "-@rowid"]


def _client(app: App) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(app.asgi, raise_server_exceptions=False) as client:
        token = client.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": ADMIN[0], "password": ADMIN[1]},
        ).json()["token"]
        headers = {"Authorization": token}
        created = client.post(
            "/api/collections",
            headers=headers,
            json={"name": "things", "listRule": "", "fields": FIELDS},
        )
        assert created.status_code == 200, created.text
        for record in RECORDS:
            saved = client.post("/api/collections/things/records", headers=headers, json=record)
            assert saved.status_code == 200, saved.text
        yield client, headers


@pytest.fixture(scope="module")
def clients(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, TestClient, dict[str, str]]]:
    import asyncio

    with fresh_database() as url:
        apps = []
        for name, db_url in (("sqlite", ""), ("postgres", url)):
            data_dir: Path = tmp_path_factory.mktemp(name) / "kb_data"

            async def upsert(data_dir: Path = data_dir, db_url: str = db_url) -> None:
                async with App(Config(data_dir=data_dir, db_url=db_url)) as app:
                    await app.superusers.upsert(*ADMIN)

            asyncio.run(upsert())
            apps.append(App(Config(data_dir=data_dir, db_url=db_url)))
        lite = _client(apps[0])
        pg = _client(apps[1])
        (lite_client, headers), (pg_client, pg_headers) = next(lite), next(pg)
        try:
            yield lite_client, pg_client, headers | {"X-Pg": pg_headers["Authorization"]}
        finally:
            for generator in (lite, pg):
                for _ in generator:
                    pass


def _answer(client: TestClient, token: str, params: dict[str, str]) -> tuple[int, Any]:
    response = client.get(
        "/api/collections/things/records",
        params={**params, "perPage": "100"},
        headers={"Authorization": token},
    )
    body = response.json()
    if response.status_code == 200:
        for item in body["items"]:
            item.pop("created", None)
            item.pop("updated", None)
    return response.status_code, body


@pytest.mark.parametrize("text", FILTERS)
def test_filter_selects_the_same_rows(
    clients: tuple[TestClient, TestClient, dict[str, str]], text: str
) -> None:
    lite, pg, headers = clients
    expected = _answer(lite, headers["Authorization"], {"filter": text, "sort": "title"})
    actual = _answer(pg, headers["X-Pg"], {"filter": text, "sort": "title"})
    assert actual == expected


@pytest.mark.parametrize("sort", SORTS)
def test_sort_orders_the_same(
    clients: tuple[TestClient, TestClient, dict[str, str]], sort: str
) -> None:
    lite, pg, headers = clients
    expected = _answer(lite, headers["Authorization"], {"sort": sort})
    actual = _answer(pg, headers["X-Pg"], {"sort": sort})
    assert actual == expected
