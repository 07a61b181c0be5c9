"""The comparison itself must be able to fail: these pin what it forgives and what it does not.

They need no servers, so a too-generous normaliser is caught even when both
servers happen to agree on everything the scenario asks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.differential.normalise import MSG_SOMETHING_WRONG, Answer, Normaliser, compare
from tests.differential.runner import lookup

NOW = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)


def answer(body: Any, status: int = 200, known: dict[str, str] | None = None) -> Answer:
    return Answer(status, "application/json", Normaliser(known or {}, NOW)(body))


def bad_list_query(data: dict[str, Any]) -> dict[str, Any]:
    return {"data": data, "message": MSG_SOMETHING_WRONG, "status": 400}


def test_random_values_become_placeholders() -> None:
    pb = answer(
        {
            "id": "abcdefghij12345",
            "created": "2026-11-24 23:26:59.743Z",
            "token": "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6IngifQ.c2ln",
            "collectionId": "pbc_1125843985",
            "cover": "cover_image_z2so5hksyx.txt",
        }
    )
    kb = answer(
        {
            "id": "zyxwvutsrq54321",
            "created": "2026-11-24 23:27:00.001Z",
            "token": "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InkifQ.b3Ro",
            "collectionId": "pbc_42",
            "cover": "cover_image_0123456789.txt",
        }
    )
    assert compare(pb, kb) == []


def test_dates_the_scenario_sent_are_compared() -> None:
    pb = answer({"when": "2024-01-02 03:04:05.678Z"})
    kb = answer({"when": "2024-01-02 03:04:05.000Z"})
    assert compare(pb, kb) == [
        '$.when: pocketbase="2024-01-02 03:04:05.678Z" keelbase="2024-01-02 03:04:05.000Z"'
    ]


def test_saved_ids_must_point_at_the_same_record() -> None:
    pb = answer({"author": "aaaaaaaaaaaaaa1"}, known={"aaaaaaaaaaaaaa1": "user1_id"})
    kb = answer(
        {"author": "bbbbbbbbbbbbbb2"},
        known={"bbbbbbbbbbbbbb1": "user1_id", "bbbbbbbbbbbbbb2": "user2_id"},
    )
    assert compare(pb, kb) == ['$.author: pocketbase="<$user1_id>" keelbase="<$user2_id>"']


def test_missing_keys_and_values_fail() -> None:
    problems = compare(answer({"a": 1, "b": True}), answer({"a": 2, "c": 1}))
    assert problems == [
        "$.a: pocketbase=1 keelbase=2",
        "$.b: pocketbase=true keelbase=<missing>",
        "$.c: pocketbase=<missing> keelbase=1",
    ]


def test_bool_is_not_a_number() -> None:
    assert compare(answer({"v": 1}), answer({"v": True})) != []
    assert compare(answer({"v": 7}), answer({"v": 7.0})) == []


def test_the_allowed_list_parameter_explanation() -> None:
    pb = answer(bad_list_query({}), 400)
    kb = answer(
        bad_list_query({"filter": {"code": "validation_invalid_value", "message": "bad"}}), 400
    )
    assert compare(pb, kb, frozenset({"filter"})) == []


def test_the_explanation_must_name_a_parameter_that_was_sent() -> None:
    pb = answer(bad_list_query({}), 400)
    kb = answer(
        bad_list_query({"page": {"code": "validation_invalid_value", "message": "bad"}}), 400
    )
    assert compare(pb, kb, frozenset({"perPage"})) != []


def test_no_other_extra_data_is_forgiven() -> None:
    pb = answer({"data": {}, "message": "Failed to create record.", "status": 400}, 400)
    kb = answer(
        {
            "data": {"title": {"code": "validation_required", "message": "Cannot be blank."}},
            "message": "Failed to create record.",
            "status": 400,
        },
        400,
    )
    assert compare(pb, kb) != []


def test_error_codes_are_compared_even_where_messages_are_cut() -> None:
    pb = answer(
        {"listRule": {"code": "validation_invalid_rule", "message": "Invalid rule. Raw error: x."}}
    )
    kb = answer(
        {"listRule": {"code": "validation_other", "message": "Invalid rule. Raw error: y."}}
    )
    assert compare(pb, kb) == [
        '$.listRule.code: pocketbase="validation_invalid_rule" keelbase="validation_other"'
    ]


def test_lookup_paths() -> None:
    body = {
        "record": {"id": "x"},
        "fields": [{"name": "id", "id": "f1"}, {"name": "t", "id": "f2"}],
    }
    assert lookup(body, "record.id") == "x"
    assert lookup(body, "fields.1.id") == "f2"
    assert lookup(body, "fields.name=t.id") == "f2"
    assert lookup(body, "fields.name=nope.id") is None
