"""``file``: the options and the list of names (core/field_file.go); uploads are the files service's."""

from __future__ import annotations

import pytest

from keelbase.core.fields import FileField
from tests.core.fields.helpers import code, column, problem


def test_options_json_and_columns() -> None:
    field = FileField(name="f", maxSelect=2, maxSize=10, mimeTypes=["image/png"], thumbs=["10x10"])
    json = field.to_json()
    assert {k: json[k] for k in ("maxSelect", "maxSize", "mimeTypes", "protected", "thumbs")} == {
        "maxSelect": 2, "maxSize": 10, "mimeTypes": ["image/png"], "protected": False,
        "thumbs": ["10x10"],
    }  # fmt: skip
    assert column(field, "sqlite") == "JSON DEFAULT '[]' NOT NULL"
    assert column(FileField(name="f"), "sqlite") == "TEXT DEFAULT '' NOT NULL"


def test_too_many_files() -> None:
    error = problem(FileField(name="f", maxSelect=2), ["a.png", "b.png", "c.png"])
    assert error is not None and error.to_json() == {
        "code": "validation_too_many_files", "message": "The maximum allowed files is 2.",
        "params": {"maxSelect": 2},
    }  # fmt: skip
    assert code(FileField(name="f"), ["a.png"]) is None
    assert code(FileField(name="f", required=True), []) == "validation_required"


@pytest.mark.parametrize("thumb", ["100x100", "0x50", "50x0", "10x10t", "10x10b", "10x10f", "00x0"])
def test_good_thumbs(thumb: str) -> None:
    assert FileField(name="f", thumbs=[thumb]).definition_errors() == {}


def test_bad_thumbs_are_named_as_pocketbase_names_them() -> None:
    """PocketBase: validation.Each(NotIn("0x0", ...), Match(ThumbSizeRegex)), every bad item."""
    errors = FileField(
        name="f", thumbs=["10x10", "0x0", "abc", "10x10x", "0x0f"]
    ).definition_errors()
    zero = {"code": "validation_not_in_invalid", "message": "Must not be in list."}
    format_ = {"code": "validation_match_invalid", "message": "Must be in a valid format."}
    assert errors == {"thumbs": {"1": zero, "2": format_, "3": format_, "4": zero}}
