"""What every field shares (base.py) and the registry (``field_from_json``)."""

from __future__ import annotations

import zlib

import pytest

from keelbase.core.fields import (
    FIELD_TYPES,
    FieldDefinitionError,
    FieldInvalid,
    default_field_id,
    field_from_json,
)
from keelbase.core.fields.base import cast_number, cast_text, unique_strings


def test_every_pocketbase_type_is_registered() -> None:
    assert set(FIELD_TYPES) == {
        "text", "editor", "number", "bool", "email", "url", "date", "autodate", "select",
        "json", "relation", "file", "password", "geoPoint",
        "vector",  # ours, beyond PocketBase: docs/vectors.md
    }  # fmt: skip


def test_field_from_json_builds_the_type_and_ignores_unknown_options() -> None:
    field = field_from_json({"type": "number", "name": "n", "max": 5, "whatever": 1})
    assert field.type == "number" and field.to_json()["max"] == 5
    assert "whatever" not in field.to_json()


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ("text", {"type": {"code": "validation_invalid_value", "message": "Invalid field definition."}}),
        ({"type": "nope"}, {"type": {"code": "validation_in_invalid", "message": "Must be a valid value."}}),
        ({"name": "x"}, {"type": {"code": "validation_in_invalid", "message": "Must be a valid value."}}),
        ({"type": "number", "min": "low"}, {"min": {"code": "validation_invalid_value", "message": "Invalid value."}}),
    ],
)  # fmt: skip
def test_definitions_that_cannot_be_read(data: object, errors: dict[str, object]) -> None:
    with pytest.raises(FieldDefinitionError) as caught:
        field_from_json(data)
    assert caught.value.errors == errors


def test_default_field_id_is_type_and_crc32_of_the_name() -> None:
    # PocketBase: fieldType + crc32.ChecksumIEEE(name), e.g. the users collection's "name"
    assert default_field_id("text", "title") == f"text{zlib.crc32(b'title')}"
    assert default_field_id("text", "id") == "text3208210256"


@pytest.mark.parametrize(
    ("raw", "text"),
    [(None, ""), ("é", "é"), (True, "true"), (False, "false"), (0, "0"), (-3, "-3"),
     (1.0, "1"), (100.0, "100"), (0.1, "0.1"), (-2.5, "-2.5"), (123456789.125, "123456789.125"),
     # Go's FormatFloat(f, 'f', -1, 64) never writes an exponent
     (1e21, "1000000000000000000000"), (1e-7, "0.0000001"), (float("inf"), "+Inf"),
     ([1], ""), ({}, "")],
)  # fmt: skip
def test_cast_text(raw: object, text: str) -> None:
    assert cast_text(raw) == text


def test_cast_number_keeps_whole_numbers_as_ints() -> None:
    assert cast_number("3") == 3 and isinstance(cast_number("3"), int)
    assert cast_number(2**60) == 2**60  # beyond 2**53 a float is not exact: kept as float
    assert isinstance(cast_number(2**60), float)


@pytest.mark.parametrize(
    ("raw", "items"),
    [(None, []), ("a", ["a"]), ("", []), (["a", "b", "a", ""], ["a", "b"]), ('["x","y"]', ["x", "y"]),
     ("[broken", ["[broken"]), ("[1]", ["1"]), (5, ["5"]), ((True, 1.5), ["true", "1.5"])],
)  # fmt: skip
def test_unique_strings(raw: object, items: list[str]) -> None:
    assert unique_strings(raw) == items


def test_field_invalid_json_shape() -> None:
    assert FieldInvalid("c", "m").to_json() == {"code": "c", "message": "m"}
    assert FieldInvalid("c", "m", {"max": 1}).to_json() == {
        "code": "c",
        "message": "m",
        "params": {"max": 1},
    }
