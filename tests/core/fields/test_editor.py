"""``editor``: PocketBase's EditorField (core/field_editor.go)."""

from __future__ import annotations

from keelbase.core.fields import EditorField
from tests.core.fields.helpers import code, column, problem


def test_size_is_counted_in_bytes() -> None:
    field = EditorField(name="e", maxSize=6)
    assert code(field, "ééé") is None  # six bytes
    error = problem(field, "éééé")
    assert error is not None and error.to_json() == {
        "code": "validation_content_size_limit",
        "message": "The maximum allowed content size is 6 bytes.",
        "params": {"maxSize": 6},
    }


def test_default_limit_is_5_mb() -> None:
    field = EditorField(name="e")
    assert code(field, "x" * (5 << 20)) is None
    assert code(field, "x" * ((5 << 20) + 1)) == "validation_content_size_limit"


def test_required_options_and_column() -> None:
    assert code(EditorField(name="e", required=True), "") == "validation_required"
    assert EditorField(name="e").prepare(5) == "5"
    json = EditorField(name="e", convertURLs=True).to_json()
    assert (json["convertURLs"], json["maxSize"]) == (True, 0)
    assert column(EditorField(name="e"), "sqlite") == "TEXT DEFAULT '' NOT NULL"
