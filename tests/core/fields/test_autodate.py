"""``autodate``: PocketBase's AutodateField (core/field_autodate.go)."""

from __future__ import annotations

from keelbase.core.fields import AutodateField
from tests.core.fields.helpers import column


def test_json_has_no_help_or_required() -> None:
    json = AutodateField(id="a1", name="created", onCreate=True).to_json()
    assert json == {
        "hidden": False, "id": "a1", "name": "created", "onCreate": True, "onUpdate": False,
        "presentable": False, "system": False, "type": "autodate",
    }  # fmt: skip


def test_one_of_on_create_or_on_update() -> None:
    assert AutodateField(name="a").definition_errors() == {
        "onCreate": {
            "code": "validation_required",
            "message": "Either onCreate or onUpdate must be enabled.",
        }
    }
    assert AutodateField(name="a", onUpdate=True).definition_errors() == {}


def test_nothing_a_client_sends_is_invalid() -> None:
    AutodateField(name="a", onCreate=True, required=True).check("")
    assert column(AutodateField(name="a", onCreate=True), "sqlite") == "TEXT DEFAULT '' NOT NULL"
