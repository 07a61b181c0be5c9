"""``relation``: PocketBase's RelationField (core/field_relation.go), without the store.

Whether the ids exist is the records service's check (tests/api/test_records.py).
"""

from __future__ import annotations

from keelbase.core.fields import RelationField, field_from_json
from tests.core.fields.helpers import code, column, problem


def test_options_json() -> None:
    json = RelationField(name="r", collectionId="c1", maxSelect=3, cascadeDelete=True).to_json()
    assert {k: json[k] for k in ("cascadeDelete", "collectionId", "maxSelect", "minSelect")} == {
        "cascadeDelete": True, "collectionId": "c1", "maxSelect": 3, "minSelect": 0
    }  # fmt: skip


def test_single_and_multiple() -> None:
    single = RelationField(name="r", collectionId="c")
    multi = RelationField(name="r", collectionId="c", maxSelect=5)
    assert not single.multiple and multi.multiple
    assert single.prepare(["x", "y"]) == "y"
    assert multi.prepare("x") == ["x"]
    assert column(single, "sqlite") == "TEXT DEFAULT '' NOT NULL"
    assert column(multi, "sqlite") == "JSON DEFAULT '[]' NOT NULL"


def test_counts() -> None:
    field = RelationField(name="r", collectionId="c", minSelect=2, maxSelect=3)
    few = problem(field, ["a"])
    assert few is not None and few.to_json() == {
        "code": "validation_not_enough_values", "message": "Select at least 2.",
        "params": {"minSelect": 2},
    }  # fmt: skip
    assert code(field, ["a", "b"]) is None
    many = problem(field, ["a", "b", "c", "d"])
    assert many is not None and (many.code, many.params) == (
        "validation_too_many_values", {"maxSelect": 3}
    )  # fmt: skip
    assert code(field, []) is None  # minSelect does not make it required
    assert code(RelationField(name="r", collectionId="c", required=True), "") == (
        "validation_required"
    )


def test_definition_errors() -> None:
    def errors(**options: object) -> set[str]:
        field = field_from_json({"name": "r", "type": "relation", **options})
        return set(field.definition_errors())

    assert errors() == {"collectionId"}
    assert errors(collectionId="c", minSelect=-1) == {"minSelect"}
    assert errors(collectionId="c", minSelect=3, maxSelect=2) == {"maxSelect"}
    assert errors(collectionId="c", minSelect=2, maxSelect=2) == set()
