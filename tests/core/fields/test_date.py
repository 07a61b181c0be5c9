"""``date``: PocketBase's DateField (core/field_date.go) and its date forms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from keelbase.core.fields import DateField
from tests.core.fields.helpers import code, column, problem


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("2024-01-02 03:04:05.678Z", "2024-01-02 03:04:05.678Z"),
        ("2024-01-02T03:04:05Z", "2024-01-02 03:04:05.000Z"),
        ("2024-01-02", "2024-01-02 00:00:00.000Z"),
        ("2024-01-02 03:04", "2024-01-02 03:04:00.000Z"),
        ("2024-01-02T03:04:05.123456789+02:00", "2024-01-02 01:04:05.123Z"),
        ("2024-01-02T01:00:00-0130", "2024-01-02 02:30:00.000Z"),
        (datetime(2024, 5, 6, 7, 8, 9, 500000, tzinfo=UTC), "2024-05-06 07:08:09.500Z"),
        (0, "1970-01-01 00:00:00.000Z"),
        # not a date: empty, not an error, as PocketBase ignores scan errors
        ("yesterday", ""),
        ("2024-13-01", ""),
        ("2024-02-30", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_prepare_normalises_to_the_stored_form(raw: object, value: str) -> None:
    assert DateField(name="d").prepare(raw) == value


def test_column_and_json() -> None:
    field = DateField(name="d", min="2024-01-01", max="2024-12-31 23:59:59Z")
    assert column(field, "sqlite") == "TEXT DEFAULT '' NOT NULL"
    json = field.to_json()
    assert (json["min"], json["max"]) == ("2024-01-01 00:00:00.000Z", "2024-12-31 23:59:59.000Z")


def test_bounds_with_go_messages() -> None:
    field = DateField(name="d", min="2024-01-01", max="2024-12-31 12:00:00.5Z")
    assert code(field, "2024-06-01") is None
    assert code(field, "2024-01-01") is None  # bounds are inclusive
    low = problem(field, "2023-12-31 23:59:59Z")
    assert low is not None and low.to_json() == {
        "code": "validation_min_greater_equal_than_required",
        "message": "Must be no less than 2024-01-01 00:00:00 +0000 UTC.",
        "params": {"threshold": "2024-01-01T00:00:00Z"},
    }
    high = problem(field, "2025-01-01")
    assert high is not None and high.to_json() == {
        "code": "validation_max_less_equal_than_required",
        "message": "Must be no greater than 2024-12-31 12:00:00.5 +0000 UTC.",
        "params": {"threshold": "2024-12-31T12:00:00.5Z"},
    }


def test_required_and_empty() -> None:
    assert code(DateField(name="d", required=True), "not a date") == "validation_required"
    assert code(DateField(name="d", min="2030-01-01"), "") is None


def test_definition_errors() -> None:
    assert DateField(name="d", min="nope").definition_errors() == {
        "min": {"code": "validation_invalid_date", "message": "Must be a valid date."}
    }
    assert DateField(name="d", min="2024-01-01", max="2024-01-02").definition_errors() == {}


def test_max_before_min_is_refused() -> None:
    """PocketBase checks max against min with ozzo's Date rule (validation_date_out_of_range)."""
    field = DateField(name="d", min="2024-06-01", max="2024-01-01")
    assert field.definition_errors() == {
        "max": {"code": "validation_date_out_of_range", "message": "The date is out of range."}
    }
    assert DateField(name="d", min="2024-06-01", max="2024-06-01").definition_errors() == {}
