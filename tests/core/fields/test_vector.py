from typing import Any

import pytest

from keelbase.core.fields import FieldInvalid, VectorField, field_from_json


def test_definition_round_trips_and_checks_dimensions() -> None:
    field = field_from_json({"type": "vector", "name": "embedding", "dimensions": 3})
    assert isinstance(field, VectorField)
    assert field.to_json()["dimensions"] == 3
    assert field.definition_errors() == {}
    assert "dimensions" in VectorField(name="e", dimensions=0).definition_errors()
    assert "dimensions" in VectorField(name="e", dimensions=5000).definition_errors()


def test_values_round_to_float32_and_read_back_the_same() -> None:
    field = VectorField(name="e", dimensions=3)
    value = field.prepare([0.1, 2, -3.25])
    assert value == [0.1, 2, -3.25]
    field.check(value)
    assert field.from_db(field.to_db(value)) == value
    assert field.prepare("[1, 2, 3]") == [1, 2, 3]
    assert field.prepare(None) == [] and field.to_db([]) == "" and field.from_db("") == []
    assert field.prepare([1e-46, 0, 0])[0] == 0  # below float32: rounds to zero


@pytest.mark.parametrize(
    "raw",
    [
        [1, 2],
        [1, 2, 3, 4],
        [1, "2", 3],
        [True, 1, 2],
        5,
        "nope",
        {"a": 1},
        [1e39, 0, 0],
        [10**400, 0, 0],
    ],
)
def test_anything_but_exactly_n_finite_numbers_is_refused(raw: Any) -> None:
    field = VectorField(name="e", dimensions=3)
    with pytest.raises(FieldInvalid) as caught:
        field.check(field.prepare(raw))
    assert caught.value.code == "validation_invalid_vector"


def test_required_refuses_an_empty_vector() -> None:
    field = VectorField(name="e", dimensions=3, required=True)
    with pytest.raises(FieldInvalid):
        field.check(field.prepare([]))
