"""Concurrent OTP requests for one account never leave more live codes than the limit."""

from __future__ import annotations

import asyncio

import pytest

from keelbase import App
from keelbase.core.request_info import RequestInfo
from keelbase.services.auth import otp as otp_service
from keelbase.services.auth import refs as auth_refs

pytestmark = pytest.mark.anyio


async def test_concurrent_requests_respect_the_live_limit(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(otp_service, "MAX_LIVE_OTPS", 2)
    monkeypatch.setattr(app.otp, "_send", lambda *args: None)  # no SMTP here; the codes stay
    users = app.records.collection("users")
    user = await app.records.create_record(
        users,
        {"email": "otp@example.com", "password": "password123", "passwordConfirm": "password123"},
        RequestInfo(system=True),
    )
    issued = await asyncio.gather(*(app.otp._issue(user) for _ in range(8)))
    live = await auth_refs.owned_by(app.records, auth_refs.OTPS, user)
    # "more than MAX_LIVE_OTPS live: no new code", so at most MAX_LIVE_OTPS + 1 exist
    assert len(live) == 3
    assert sorted(i for i in issued if i) == sorted(o.id for o in live)
