"""Dates are written as PocketBase writes them, whatever zone or year they come with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from keelbase.core.dates import format_datetime, parse_datetime


def test_utc_with_milliseconds_cut_not_rounded() -> None:
    value = datetime(2026, 12, 4, 22, 9, 3, 308999, tzinfo=UTC)
    assert format_datetime(value) == "2026-12-04 22:09:03.308Z"


def test_other_zones_are_turned_to_utc() -> None:
    value = datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert format_datetime(value) == "2020-01-02 01:04:05.000Z"


def test_years_before_1000_keep_four_digits_as_go_writes_them() -> None:
    assert format_datetime(datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0005-01-02 03:04:05.000Z"


def test_what_is_written_reads_back() -> None:
    value = datetime(1999, 12, 31, 23, 59, 59, 123000, tzinfo=UTC)
    assert parse_datetime(format_datetime(value)) == value
