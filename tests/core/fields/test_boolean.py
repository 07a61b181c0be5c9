"""``bool``: PocketBase's BoolField (core/field_bool.go)."""

from __future__ import annotations

import pytest

from keelbase.core.fields import BoolField
from tests.core.fields.helpers import code, column, stored


@pytest.mark.parametrize(
    ("raw", "value"),
    [(True, True), (False, False), (1, True), (0, False), (2.5, True), ("1", True), ("t", True),
     ("TRUE", True), ("True", True), ("true", True), ("0", False), ("false", False),
     ("yes", False), ("", False), (None, False), ([True], False)],
)  # fmt: skip
def test_prepare_casts_like_go(raw: object, value: bool) -> None:
    assert BoolField(name="b").prepare(raw) is value


def test_required_means_true() -> None:
    assert code(BoolField(name="b", required=True), False) == "validation_required"
    assert code(BoolField(name="b", required=True), "true") is None
    assert code(BoolField(name="b"), False) is None


def test_column_and_stored_values() -> None:
    field = BoolField(name="b")
    assert column(field, "sqlite") == "BOOLEAN DEFAULT 0 NOT NULL"  # PocketBase: DEFAULT FALSE
    assert column(field, "postgresql") == "BOOLEAN DEFAULT false NOT NULL"
    assert stored(field, "1") is True
    assert field.from_db(0) is False and field.from_db("true") is True
    assert field.empty() is False
    assert "min" not in field.to_json() and field.to_json()["type"] == "bool"
