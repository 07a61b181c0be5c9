"""The SQL a list runs: a whole-table count stays a plain COUNT SQLite answers from its b-tree."""

from __future__ import annotations

import pytest

from keelbase import App
from keelbase.core.request_info import RequestInfo
from keelbase.services.records.query import RecordQuery

pytestmark = pytest.mark.anyio


async def test_counts_without_conditions_have_no_where(app: App) -> None:
    users = app.records.schema.get("users")
    assert users is not None
    info = RequestInfo(None, "GET", {}, {}, {}, "default")
    plain = RecordQuery(app.records.store, app.records.schema, users, info)
    plain.add_sort("-created")
    assert "WHERE" not in plain.count_sql()

    filtered = RecordQuery(app.records.store, app.records.schema, users, info)
    filtered.add_condition("name = 'ann'", allow_hidden=False)
    assert "WHERE" in filtered.count_sql()
    async with app.records.store.read() as conn:
        assert await conn.fetch_value(plain.count_sql()) == 0
        assert await conn.fetch_value(filtered.count_sql(), filtered.params) == 0
