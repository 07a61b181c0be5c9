"""Server code's record lookups (by filter, first, count) and what builds on them, on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keelbase import App, Config, RecordEvent
from keelbase.services.auth import refs as auth_refs

pytestmark = pytest.mark.anyio


@pytest.fixture
async def app(tmp_path: Path, db_url: str) -> AsyncIterator[App]:
    async with App(Config(data_dir=tmp_path / "kb_data", db_url=db_url)) as running:
        for index, email in enumerate(["Ann@Example.com", "bob@example.com", "cy@example.com"]):
            await running.create_record(
                "users",
                {"email": email, "password": "Passw0rd123", "passwordConfirm": "Passw0rd123",
                 "name": f"user {index}"},
            )  # fmt: skip
        yield running


async def test_find_by_filter_binds_params_sorts_and_limits(app: App) -> None:
    users = app.records.collection("users")
    found = await app.records.find_by_filter(users, "name ~ {:n}", {"n": "user"}, sort="-name")
    assert [r.get("name") for r in found] == ["user 2", "user 1", "user 0"]
    first = await app.records.find_by_filter(users, "", sort="name", limit=2)
    assert [r.get("name") for r in first] == ["user 0", "user 1"]
    hostile = await app.records.find_by_filter(users, "name = {:n}", {"n": "x' OR 1=1 --"})
    assert hostile == []


async def test_find_first_by_filter_and_count(app: App) -> None:
    users = app.records.collection("users")
    bob = await app.records.find_first_by_filter(users, "email = {:e}", {"e": "bob@example.com"})
    assert bob is not None and bob.get("name") == "user 1"
    assert await app.records.find_first_by_filter(users, "email = {:e}", {"e": "no@x.io"}) is None
    assert await app.records.count(users) == 3
    assert await app.records.count(users, "name != {:n}", {"n": "user 0"}) == 2


async def test_emails_match_whatever_their_case(app: App) -> None:
    """OAuth2 finds an account by email as PocketBase does: case-insensitively."""
    users = app.records.collection("users")
    found = await app.records.find_first_by_filter(
        users, "email:lower = {:e}", {"e": "ANN@example.COM".lower()}
    )
    assert found is not None and found.get("name") == "user 0"


async def test_expired_one_time_passwords_are_deleted_through_the_hooks(app: App) -> None:
    """As PocketBase's cleanup: each expired row is deleted as a record, so hooks run."""
    users = app.records.collection("users")
    owner = await app.records.find_first_by_filter(users, "name = 'user 1'")
    assert owner is not None
    stale = auth_refs.new_ref_record(app.records, auth_refs.OTPS, owner, password="x", sentTo="")
    fresh = auth_refs.new_ref_record(app.records, auth_refs.OTPS, owner, password="y", sentTo="")
    for record in (stale, fresh):
        await app.records.insert_trusted(record)
    stale.data["created"] = "2020-01-01 00:00:00.000Z"
    async with app.records.transaction() as conn:
        await app.records.save(conn, stale, ["created"])
    deleted: list[str] = []

    @app.on_record_delete(auth_refs.OTPS)
    async def remember(e: RecordEvent) -> None:
        deleted.append(e.record.id)
        await e.next()

    await auth_refs.delete_older_than(app.records, auth_refs.OTPS, users.id, 3600)
    assert deleted == [stale.id]
    remaining = await auth_refs.owned_by(app.records, auth_refs.OTPS, owner)
    assert [r.id for r in remaining] == [fresh.id]
