"""Password sign-in against a real store: what it writes besides answering."""

from __future__ import annotations

import bcrypt
import pytest

from keelbase import App
from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo
from keelbase.services.auth import password as auth_service
from keelbase.services.auth.passwords import hash_password, verify_password

pytestmark = pytest.mark.anyio
EMAIL = "ann@example.com"


async def _stored(app: App, record_id: str) -> Record:
    found = await app.records.find_by_id(app.records.collection("users"), record_id)
    assert found is not None
    return found


async def test_upgrading_a_hash_never_undoes_a_password_changed_meanwhile(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bcrypt hash (imported from PocketBase) is upgraded at sign-in; if the password
    is reset while the new hash is being computed, the reset stands."""
    users = app.records.collection("users")
    created = await app.records.create_record(
        users,
        {"email": EMAIL, "password": "old-password", "passwordConfirm": "old-password"},
        RequestInfo(system=True),
    )
    imported = await _stored(app, created.id)
    imported.data["password"] = bcrypt.hashpw(b"old-password", bcrypt.gensalt(4)).decode()
    await app.records.update_trusted(imported, ["password"], "")
    upgrade = auth_service.hash_password_async

    async def reset_meanwhile(plain: str) -> str:
        hashed = await upgrade(plain)
        record = await _stored(app, created.id)
        record.data["password"] = hash_password("new-password")
        await app.records.update_trusted(record, ["password"], "")
        return hashed

    monkeypatch.setattr(auth_service, "hash_password_async", reset_meanwhile)
    await app.auth.auth_with_password(
        users, {"identity": EMAIL, "password": "old-password"}, RequestInfo()
    )

    assert verify_password("new-password", (await _stored(app, created.id)).get("password"))
