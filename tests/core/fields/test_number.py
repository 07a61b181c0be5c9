"""``number``: PocketBase's NumberField (core/field_number.go)."""

from __future__ import annotations

import math

import pytest

from keelbase.core.fields import NumberField, field_from_json
from tests.core.fields.helpers import code, column, problem, stored


def test_to_json_and_column() -> None:
    field = field_from_json({"name": "n", "type": "number", "min": 1.0, "max": 2.5, "id": "n1"})
    options = {k: v for k, v in field.to_json().items() if k in ("min", "max", "onlyInt")}
    assert options == {"min": 1, "max": 2.5, "onlyInt": False}  # whole numbers shown as ints
    assert NumberField(name="n").to_json()["min"] is None
    assert column(field, "sqlite") == "NUMERIC DEFAULT 0 NOT NULL"
    assert column(field, "postgresql") == "DOUBLE PRECISION DEFAULT 0 NOT NULL"


@pytest.mark.parametrize(
    ("raw", "value"),
    [(5, 5), (5.0, 5), (2.5, 2.5), ("12", 12), (" 1.5 ", 1.5), ("abc", 0), ("", 0), (None, 0),
     (True, 1), (False, 0), ([1], 0)],
)  # fmt: skip
def test_prepare_casts_like_go(raw: object, value: float) -> None:
    prepared = NumberField(name="n").prepare(raw)
    assert prepared == value
    assert type(prepared) is type(value)  # whole numbers are ints, so JSON shows 5, not 5.0


def test_zero_is_empty() -> None:
    assert code(NumberField(name="n", min=5), 0) is None  # 0 skips the bounds, as in PocketBase
    assert code(NumberField(name="n", required=True), 0) == "validation_required"
    assert code(NumberField(name="n", required=True), -1) is None


def test_bounds_and_their_messages() -> None:
    field = NumberField(name="n", min=1, max=10.5)
    assert code(field, 1) is None and code(field, 10.5) is None
    low = problem(field, 0.5)
    assert low is not None and low.to_json() == {
        "code": "validation_min_number_constraint", "message": "Must be greater or equal than 1.",
        "params": {"min": 1},
    }  # fmt: skip
    high = problem(field, 11)
    assert high is not None and (high.code, high.params) == (
        "validation_max_number_constraint", {"max": 10.5}
    )  # fmt: skip
    assert code(NumberField(name="n", min=-5), -6) == "validation_min_number_constraint"


def test_only_int() -> None:
    field = NumberField(name="n", onlyInt=True)
    assert code(field, 3) is None and code(field, "3.0") is None
    assert code(field, 3.5) == "validation_only_int_constraint"


@pytest.mark.parametrize("raw", ["nan", "inf", "-Infinity", math.inf])
def test_not_a_number(raw: object) -> None:
    assert code(NumberField(name="n"), raw) == "validation_not_a_number"


def test_modifiers_add_and_subtract() -> None:
    field = NumberField(name="n")
    assert field.modify(10, "+", 5) == 15
    assert field.modify(10, "-", "2.5") == 7.5
    assert field.modify(None, "+", 1) == 1
    assert field.modify(10, "prefix+", 5) == 10  # "+n" means nothing for numbers


def test_stored_values_read_back() -> None:
    field = NumberField(name="n")
    assert stored(field, "7") == 7
    assert field.from_db(None) == 0
    assert field.from_db("1.25") == 1.25  # a text column on SQLite may hold numbers as text
    assert field.from_db(3.0) == 3 and isinstance(field.from_db(3.0), int)


def test_definition_errors() -> None:
    assert NumberField(name="n", min=5, max=4).definition_errors()["max"] == {
        "code": "validation_min_greater_equal_than_required", "message": "Must be no less than 5.",
        "params": {"threshold": 5},
    }  # fmt: skip
    assert NumberField(name="n", min=5, max=5).definition_errors() == {}
    assert NumberField(name="n", min=5).definition_errors() == {}
