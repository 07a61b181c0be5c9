"""The checked-token cache: never stale after a change that raced with a lookup, and its
bookkeeping of changes stays bounded however many auth records change."""

from __future__ import annotations

from typing import Any

import pytest

from keelbase import App
from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo
from keelbase.services.auth import password as auth_service
from keelbase.services.auth import tokens

pytestmark = pytest.mark.anyio


async def _user(app: App, email: str) -> Record:
    users = app.records.collection("users")
    return await app.records.create_record(
        users,
        {"email": email, "password": "password123", "passwordConfirm": "password123"},
        RequestInfo(system=True),
    )


def _count_lookups(app: App, during: Any = None) -> list[str]:
    seen: list[str] = []
    find = app.records.find_by_id

    async def counted(collection: Any, record_id: str) -> Record | None:
        seen.append(record_id)
        found = await find(collection, record_id)
        if during is not None and found is not None:
            during(found)
        return found

    app.records.find_by_id = counted  # type: ignore[method-assign]
    return seen


async def test_a_change_during_the_lookup_is_not_cached(app: App) -> None:
    user = await _user(app, "race@example.com")
    token = tokens.issue_auth(user)
    lookups = _count_lookups(app, during=app.auth.forget)  # the record changes meanwhile
    assert (await app.auth.record_from_token(token)) is not None
    assert (await app.auth.record_from_token(token)) is not None
    assert len(lookups) == 2, "a token checked while its record changed was cached"


async def test_unchanged_records_are_cached(app: App) -> None:
    user = await _user(app, "calm@example.com")
    token = tokens.issue_auth(user)
    lookups = _count_lookups(app)
    for _ in range(3):
        assert (await app.auth.record_from_token(token)) is not None
    assert len(lookups) == 1


async def test_changes_of_many_records_keep_the_bookkeeping_bounded(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth_service, "CHANGES_KEPT", 100)
    user = await _user(app, "many@example.com")
    for n in range(1000):
        other = Record(user.collection, {**user.data, "id": f"other{n:010d}"})
        app.auth.forget(other)
    assert len(app.auth._changed) <= 100
    # a lookup still caches once the changes are behind it
    token = tokens.issue_auth(user)
    lookups = _count_lookups(app)
    for _ in range(3):
        assert (await app.auth.record_from_token(token)) is not None
    assert len(lookups) == 1
