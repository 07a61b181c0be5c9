"""``select``: PocketBase's SelectField (core/field_select.go)."""

from __future__ import annotations

import pytest

from keelbase.core.fields import SelectField, field_from_json
from tests.core.fields.helpers import code, column, problem, stored

SINGLE = SelectField(name="s", values=["a", "b", "c"])
MULTI = SelectField(name="s", values=["a", "b", "c"], maxSelect=2)


@pytest.mark.parametrize(
    ("field", "raw", "value"),
    [
        (SINGLE, "a", "a"), (SINGLE, ["a", "b"], "b"),  # one value: the last one chosen
        (SINGLE, [], ""), (SINGLE, None, ""),
        (MULTI, "a", ["a"]), (MULTI, ["b", "a", "b", ""], ["b", "a"]),  # unique, order kept
        (MULTI, '["a","c"]', ["a", "c"]),  # a JSON array in a form field
        (MULTI, [1, 2.5], ["1", "2.5"]), (MULTI, None, []),
    ],
)  # fmt: skip
def test_prepare_normalises(field: SelectField, raw: object, value: object) -> None:
    assert field.prepare(raw) == value


def test_values_must_be_allowed() -> None:
    error = problem(MULTI, ["a", "z"])
    assert error is not None and error.to_json() == {
        "code": "validation_invalid_value", "message": "Invalid value z.", "params": {"value": "z"}
    }  # fmt: skip


def test_at_most_max_select() -> None:
    error = problem(MULTI, ["a", "b", "c"])
    assert error is not None and (error.code, error.params) == (
        "validation_too_many_values", {"maxSelect": 2}
    )  # fmt: skip
    assert code(MULTI, ["a", "b"]) is None


def test_required() -> None:
    assert code(SelectField(name="s", values=["a"], required=True), []) == "validation_required"
    assert code(SINGLE, "") is None


def test_modifiers() -> None:
    assert MULTI.modify(["a"], "+", ["b", "a"]) == ["a", "b"]
    assert MULTI.modify(["a"], "prefix+", "c") == ["c", "a"]
    assert MULTI.modify(["a", "b"], "-", "a") == ["b"]
    assert SINGLE.modify("a", "+", "b") == "b"
    assert SINGLE.modify("a", "-", "a") == ""


def test_columns_and_stored_values() -> None:
    assert column(SINGLE, "sqlite") == "TEXT DEFAULT '' NOT NULL"
    assert column(MULTI, "sqlite") == "JSON DEFAULT '[]' NOT NULL"
    assert column(MULTI, "postgresql") == "JSONB DEFAULT '[]' NOT NULL"
    assert MULTI.to_db(["a", "b"]) == '["a","b"]'
    assert stored(MULTI, ["b", "a"]) == ["b", "a"]
    assert stored(SINGLE, "c") == "c"
    # a field changed from single to multiple (or back) reads the other kind of value
    assert MULTI.from_db("a") == ["a"] and MULTI.from_db("") == []
    assert SINGLE.from_db('["a","b"]') == "b" and SINGLE.from_db("[]") == ""


@pytest.mark.parametrize(
    ("options", "errors"),
    [
        ({"values": []}, {"values"}),
        ({"values": ["a", "b"], "maxSelect": 3}, {"maxSelect"}),
        ({"values": ["a"], "maxSelect": -1}, {"maxSelect"}),
        ({"values": ["a", "b"], "maxSelect": 2}, set()),
    ],
)
def test_definition_errors(options: dict[str, object], errors: set[str]) -> None:
    field = field_from_json({"name": "s", "type": "select", **options})
    assert set(field.definition_errors()) == errors
