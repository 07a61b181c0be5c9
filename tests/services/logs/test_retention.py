"""``logs.maxDays`` past what a date can go back (issue 17: no input may fail) keeps everything."""

from __future__ import annotations

from datetime import UTC, datetime

from keelbase.core.dates import format_datetime
from keelbase.services.logs.retention import expired
from keelbase.services.settings import Logs


def test_huge_max_days_expire_nothing() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    for days in (9223372036854775808, 10**30, 3_000_000):
        _, params = expired(Logs(maxDays=days), at)
        assert params["before"] < format_datetime(datetime(1970, 1, 1, tzinfo=UTC))


def test_max_days_still_act() -> None:
    at = datetime(2026, 1, 10, tzinfo=UTC)
    _, params = expired(Logs(maxDays=7), at)
    assert params["before"] == "2026-01-03 00:00:00.000Z"
