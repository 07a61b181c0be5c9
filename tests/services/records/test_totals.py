"""A filtered list's total counted on from its page's last row, on both stores.

A list whose filter scans the table (``title ~ 'x'``) used to pass over the
table twice: once for the page and once more for ``COUNT(*)``. Where its plan
walks the table in rowid order, the total is the page's offset and length plus
the matches past the page's last row, one pass in all. These tests check every
page's total and rows against the records themselves, and which count ran.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from keelbase import App
from keelbase.core.request_info import RequestInfo
from keelbase.services.records.listing import ListParams

pytestmark = pytest.mark.anyio

SUPERUSER = RequestInfo(system=True)
GUEST = RequestInfo()
COUNT = 97
_rng = random.Random(7)
FRUITS = [_rng.choice(["apple", "pear", "plum"]) for _ in range(COUNT)]
NUMBERS = [_rng.randrange(50) for _ in range(COUNT)]


class Statements:
    """A store tracer that keeps the SQL of every statement run."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @contextmanager
    def statement(self, sql: str) -> Iterator[None]:
        self.seen.append(sql)
        yield

    def counts(self) -> list[str]:
        return [sql for sql in self.seen if sql.startswith("SELECT COUNT(")]


@pytest.fixture
async def app(store_app: App) -> App:
    """Items in random fruits and numbers, on each store."""
    await store_app.collections.create(
        {
            "name": "items",
            "listRule": "",
            "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "number"}],
            "indexes": ["CREATE INDEX idx_items_n ON items (n)"],
        }
    )
    items = store_app.records.collection("items")
    for i in range(COUNT):
        body = {"id": f"item{i:011d}", "title": f"{FRUITS[i]} {i}", "n": NUMBERS[i]}
        await store_app.records.create(items, body, SUPERUSER)
    return store_app


async def _ids(app: App, **filters: str) -> list[str]:
    """Every id the filter lists, in the order pages give them, from pages of 500."""
    page = await app.records.list_page(
        app.records.collection("items"), ListParams(per_page=500, **filters), GUEST
    )
    assert page["totalItems"] == len(page["items"])
    return [item["id"] for item in page["items"]]


@pytest.mark.parametrize("per_page", [1, 7, 10, 30])
async def test_every_page_of_a_scan_has_the_true_total_and_its_own_rows(
    app: App, per_page: int
) -> None:
    items = app.records.collection("items")
    for text in ("title ~ 'apple'", "title ~ 'pear' || title ~ 'plum'", "title ~ 'none'"):
        wanted = [fruit for fruit in ("apple", "pear", "plum") if f"'{fruit}'" in text]
        expected = [f"item{i:011d}" for i in range(COUNT) if FRUITS[i] in wanted]
        assert await _ids(app, filter=text) == expected  # insertion order, as before
        pages = -(-len(expected) // per_page)
        for number in range(1, pages + 3):
            params = ListParams(page=number, per_page=per_page, filter=text)
            page = await app.records.list_page(items, params, GUEST)
            assert page["totalItems"] == len(expected), (text, number)
            start = (number - 1) * per_page
            ids = [item["id"] for item in page["items"]]
            assert ids == expected[start : start + per_page], (text, number)


async def test_a_full_page_counts_only_past_its_last_row(app: App) -> None:
    statements = Statements()
    app.records.store.tracer = statements
    items = app.records.collection("items")
    page = await app.records.list_page(
        items, ListParams(per_page=5, filter="title ~ 'apple'"), GUEST
    )
    assert len(page["items"]) == 5 and page["totalItems"] > 5
    counts = statements.counts()
    assert len(counts) == 1 and ":__after" in counts[0], statements.seen

    # skipTotal counts nothing; a short page needs no count either
    statements.seen.clear()
    params = ListParams(per_page=5, filter="title ~ 'apple'", skip_total=True)
    await app.records.list_page(items, params, GUEST)
    await app.records.list_page(items, ListParams(per_page=500, filter="title ~ 'apple'"), GUEST)
    assert statements.counts() == []


async def test_an_indexed_filter_keeps_its_order_and_its_plain_count(app: App) -> None:
    """``n > 20`` is read through the index on ``n``: in rowid order its rows would
    come in another order, so its page and count stay as they were."""
    statements = Statements()
    app.records.store.tracer = statements
    items = app.records.collection("items")
    everything = await app.records.list_page(
        items, ListParams(per_page=500, filter="n > 20"), SUPERUSER
    )
    statements.seen.clear()
    page = await app.records.list_page(items, ListParams(per_page=4, filter="n > 20"), SUPERUSER)
    assert page["totalItems"] == everything["totalItems"] > 4
    assert [i["id"] for i in page["items"]] == [i["id"] for i in everything["items"][:4]]
    counts = statements.counts()
    if app.records.store.dialect.name == "sqlite":
        # the index's order (n, then rowid), not the table's
        numbers = [item["n"] for item in everything["items"]]
        assert numbers == sorted(numbers)
        assert len(counts) == 1 and ":__after" not in counts[0], statements.seen
    else:  # PostgreSQL sorts every unsorted page by its rowid, and counts on from it
        assert len(counts) == 1 and ":__after" in counts[0], statements.seen


async def test_a_sorted_list_counts_as_before(app: App) -> None:
    statements = Statements()
    app.records.store.tracer = statements
    items = app.records.collection("items")
    params = ListParams(per_page=5, filter="title ~ 'apple'", sort="-n")
    page = await app.records.list_page(items, params, GUEST)
    everything = await _ids(app, filter="title ~ 'apple'")
    assert page["totalItems"] == len(everything)
    counts = statements.counts()
    assert len(counts) == 1 and ":__after" not in counts[0], statements.seen
