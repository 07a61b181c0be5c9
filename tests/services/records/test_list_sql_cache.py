"""A list's SQL kept by its sort and filter text: never a stale or another caller's answer.

Where no rule applies (superusers, an empty rule), the SQL of a filtered list
depends only on the sort and the filter's text, so it is built once. These tests
check what must still differ: the time macros, a superuser's hidden fields, a
rule or a field changed in between.
"""

from __future__ import annotations

import asyncio

import pytest

from keelbase import App
from keelbase.core.request_info import RequestInfo
from keelbase.errors import ApiError
from keelbase.services.records.listing import ListParams

pytestmark = pytest.mark.anyio

SUPERUSER = RequestInfo(system=True)
GUEST = RequestInfo()


@pytest.fixture
async def app(store_app: App) -> App:
    await store_app.collections.create(
        {
            "name": "items",
            "listRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "n", "type": "number"},
                {"name": "secret", "type": "text", "hidden": True},
                {"name": "created", "type": "autodate", "onCreate": True},
            ],
        }
    )
    for n in range(6):
        body = {"title": f"item {n}", "n": n, "secret": f"s{n % 2}"}
        await store_app.records.create(store_app.records.collection("items"), body, SUPERUSER)
    return store_app


async def _total(app: App, info: RequestInfo, text: str, sort: str = "") -> int:
    params = ListParams(filter=text, sort=sort, per_page=2)
    page = await app.records.list_page(app.records.collection("items"), params, info)
    return int(page["totalItems"])


async def test_the_same_filter_counts_what_is_there_now(app: App) -> None:
    assert await _total(app, GUEST, "n >= 3") == 3
    await app.records.create(app.records.collection("items"), {"n": 9}, SUPERUSER)
    assert await _total(app, GUEST, "n >= 3") == 4
    assert await _total(app, GUEST, "n >= 3", sort="-n") == 4


async def test_now_is_read_at_each_request(app: App) -> None:
    """Were ``@now`` kept with the SQL, a record made after the first list would never
    be ``created <= @now``."""
    assert await _total(app, GUEST, "created <= @now") == 6
    await asyncio.sleep(1.1)  # past the second the first list's @now fell in
    await app.records.create(app.records.collection("items"), {"n": 7}, SUPERUSER)
    await asyncio.sleep(1.1)
    assert await _total(app, GUEST, "created <= @now") == 7


async def test_a_superusers_hidden_field_filter_stays_refused_to_guests(app: App) -> None:
    assert await _total(app, SUPERUSER, "secret = 's1'") == 3
    for _ in range(2):
        with pytest.raises(ApiError) as refused:
            await _total(app, GUEST, "secret = 's1'")
        assert refused.value.status == 400


async def test_rule_and_field_changes_take_effect_at_once(app: App) -> None:
    assert await _total(app, GUEST, "n >= 1") == 5
    items = app.records.collection("items")
    await app.collections.update(items.id, {"listRule": "n < 4"})
    assert await _total(app, GUEST, "n >= 1") == 3
    await app.collections.update(items.id, {"listRule": None})
    with pytest.raises(ApiError) as refused:
        await _total(app, GUEST, "n >= 1")
    assert refused.value.status == 403
    assert await _total(app, SUPERUSER, "n >= 1") == 5
    fields = [
        {**field.to_json(), "name": "m"} if field.name == "n" else field.to_json()
        for field in app.records.collection("items").fields
    ]
    await app.collections.update(items.id, {"fields": fields})
    assert await _total(app, SUPERUSER, "m >= 1") == 5
    with pytest.raises(ApiError) as unknown:
        await _total(app, SUPERUSER, "n >= 1")
    assert unknown.value.status == 400
