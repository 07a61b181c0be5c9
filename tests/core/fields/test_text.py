"""``text``: PocketBase's TextField (core/field_text.go)."""

from __future__ import annotations

import re

import pytest

from keelbase.core.fields import TextField, field_from_json
from tests.core.fields.helpers import code, column, problem


def test_to_json_has_every_option_sorted() -> None:
    field = field_from_json({"name": "title", "type": "text", "min": 2, "id": "t1"})
    assert field.to_json() == {
        "autogeneratePattern": "", "help": "", "hidden": False, "id": "t1", "max": 0, "min": 2,
        "name": "title", "pattern": "", "presentable": False, "primaryKey": False,
        "required": False, "system": False, "type": "text",
    }  # fmt: skip
    assert list(field.to_json()) == sorted(field.to_json())


def test_column_type() -> None:
    field = TextField(name="t")
    assert column(field, "sqlite") == "TEXT DEFAULT '' NOT NULL"
    # PostgreSQL compares text byte-wise, as SQLite does
    assert column(field, "postgresql") == "TEXT COLLATE \"C\" DEFAULT '' NOT NULL"


@pytest.mark.parametrize(
    ("raw", "value"),
    [("x", "x"), (12, "12"), (1.5, "1.5"), (2.0, "2"), (True, "true"), (None, ""),
     (["a"], ""), ({"a": 1}, "")],
)  # fmt: skip
def test_prepare_casts_like_go(raw: object, value: str) -> None:
    assert TextField(name="t").prepare(raw) == value


def test_empty_is_valid_unless_required() -> None:
    assert code(TextField(name="t", min=3), "") is None
    assert code(TextField(name="t", required=True), "") == "validation_required"
    assert code(TextField(name="t", required=True), " ") is None


def test_min_and_max_count_characters_not_bytes() -> None:
    field = TextField(name="t", min=2, max=3)
    assert code(field, "ééé") is None  # six bytes, three characters
    short = problem(field, "é")
    assert short is not None and short.to_json() == {
        "code": "validation_min_text_constraint", "message": "Must be at least 2 character(s).",
        "params": {"min": 2},
    }  # fmt: skip
    long = problem(field, "abcd")
    assert long is not None and (long.code, long.params) == (
        "validation_max_text_constraint", {"max": 3}
    )  # fmt: skip


def test_max_defaults_to_5000() -> None:
    field = TextField(name="t")
    assert code(field, "x" * 5000) is None
    error = problem(field, "x" * 5001)
    assert error is not None and error.params == {"max": 5000}


def test_pattern_searches_the_value() -> None:
    field = TextField(name="t", pattern=r"^[a-z]+$")
    assert code(field, "abc") is None
    assert code(field, "abc1") == "validation_invalid_format"
    assert code(TextField(name="t", pattern="b"), "abc") is None  # a search, as Go's MatchString


def test_primary_key_is_required() -> None:
    field = TextField(name="id", primaryKey=True)
    assert code(field, "") == "validation_required"


def test_autogenerate_pattern_makes_matching_values() -> None:
    field = TextField(name="id", autogeneratePattern="[a-z0-9]{15}")
    values = {field.generate() for _ in range(20)}
    assert len(values) == 20
    assert all(re.fullmatch(r"[a-z0-9]{15}", v) for v in values)
    assert TextField(name="t").generate() == ""


@pytest.mark.parametrize(
    ("options", "errors"),
    [
        ({"min": -1}, {"min"}),
        ({"min": 5, "max": 4}, {"max"}),
        ({"min": 5, "max": 0}, set()),  # no max
        ({"pattern": "("}, {"pattern"}),
        ({"autogeneratePattern": "[a-"}, {"autogeneratePattern"}),
        ({"primaryKey": True}, {"name"}),  # a primary key must be named "id"
        ({"min": 1, "max": 10, "pattern": "^x"}, set()),
    ],
)
def test_definition_errors(options: dict[str, object], errors: set[str]) -> None:
    field = field_from_json({"name": "title", "type": "text", **options})
    assert set(field.definition_errors()) == errors


def test_definition_error_shape() -> None:
    field = field_from_json({"name": "title", "type": "text", "min": 5, "max": 4})
    assert field.definition_errors()["max"] == {
        "code": "validation_min_greater_equal_than_required", "message": "Must be no less than 5.",
        "params": {"threshold": 5},
    }  # fmt: skip
