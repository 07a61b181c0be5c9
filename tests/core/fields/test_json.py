"""``json``: PocketBase's JSONField (core/field_json.go)."""

from __future__ import annotations

import pytest

from keelbase.core.fields import JsonField
from tests.core.fields.helpers import code, column, problem, stored


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        # values of a JSON body stay as they are
        ({"a": [1, 2]}, {"a": [1, 2]}), ([1, "x"], [1, "x"]), (5, 5), (None, None), (True, True),
        # strings (form fields) that are JSON documents are parsed ...
        ("[1,2,3]", [1, 2, 3]), ('{"a":1}', {"a": 1}), ("12", 12), ("-1.5", -1.5),
        ('"quoted"', "quoted"), ("null", None), ("true", True), ("false", False),
        # ... any other string stays a string
        ("hello", "hello"), ("", ""), ("[1,", "[1,"), ("12abc", "12abc"), ("True", "True"),
        # PocketBase looks at the first character as it is: a leading space makes a string
        (" [1]", " [1]"), (" true", " true"),
    ],
)  # fmt: skip
def test_prepare_like_pocketbase(raw: object, value: object) -> None:
    assert JsonField(name="j").prepare(raw) == value


def test_column_and_stored_values() -> None:
    field = JsonField(name="j")
    assert column(field, "sqlite") == "JSON"  # PocketBase: JSON DEFAULT NULL
    assert column(field, "postgresql") == "JSONB"
    assert field.empty() is None
    assert field.to_db(None) is None
    assert field.to_db({"b": 1, "a": [1]}) == '{"a":[1],"b":1}'  # keys sorted, compact
    assert stored(field, '{"k": "v"}') == {"k": "v"}
    assert field.from_db("not json") == "not json"
    assert field.from_db({"already": "decoded"}) == {"already": "decoded"}


@pytest.mark.parametrize("empty", [None, "", "null", "[]", "{}", [], {}])
def test_required_refuses_every_empty_json(empty: object) -> None:
    assert code(JsonField(name="j", required=True), empty) == "validation_required"


def test_required_accepts_false_and_zero() -> None:
    field = JsonField(name="j", required=True)
    assert code(field, False) is None and code(field, 0) is None


def test_size_limit_counts_encoded_bytes() -> None:
    field = JsonField(name="j", maxSize=10)
    assert code(field, "x" * 8) is None  # "xxxxxxxx" is 10 bytes with its quotes
    error = problem(field, "x" * 9)
    assert error is not None and error.to_json() == {
        "code": "validation_json_size_limit",
        "message": "The maximum allowed JSON size is 10 bytes.",
        "params": {"maxSize": 10},
    }
    default = problem(JsonField(name="j"), "x" * (5 << 20))
    assert default is not None and default.params == {"maxSize": 5 << 20}


def test_a_value_json_cannot_hold_is_invalid() -> None:
    assert code(JsonField(name="j"), {"a": {1, 2}}) == "validation_invalid_json"
