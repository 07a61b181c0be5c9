"""``geoPoint``: PocketBase's GeoPointField (core/field_geo_point.go)."""

from __future__ import annotations

import pytest

from keelbase.core.fields import GeoPointField
from tests.core.fields.helpers import code, column, problem, stored

FIELD = GeoPointField(name="g")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ({"lon": 23.3, "lat": 42.7}, {"lon": 23.3, "lat": 42.7}),
        ('{"lon": 1, "lat": "2"}', {"lon": 1, "lat": 2}),
        ({"lat": 5}, {"lon": 0, "lat": 5}),
        ("not json", {"lon": 0, "lat": 0}), (None, {"lon": 0, "lat": 0}), ([1, 2], {"lon": 0, "lat": 0}),
    ],
)  # fmt: skip
def test_prepare(raw: object, value: dict[str, float]) -> None:
    assert FIELD.prepare(raw) == value


def test_zero_point_is_empty() -> None:
    assert code(FIELD, {"lon": 0, "lat": 0}) is None
    assert code(GeoPointField(name="g", required=True), {}) == "validation_required"
    assert code(GeoPointField(name="g", required=True), {"lon": 0, "lat": 1}) is None


def test_ranges() -> None:
    assert code(FIELD, {"lon": 180, "lat": -90}) is None
    lat = problem(FIELD, {"lon": 0, "lat": 90.5})
    assert lat is not None and lat.to_json() == {
        "code": "validation_invalid_latitude",
        "message": "Latitude must be between -90 and 90 degrees.",
    }
    assert code(FIELD, {"lon": -180.1, "lat": 1}) == "validation_invalid_longitude"
    # latitude is checked first, as in PocketBase
    assert code(FIELD, {"lon": 500, "lat": 500}) == "validation_invalid_latitude"


def test_column_and_stored() -> None:
    assert column(FIELD, "sqlite") == 'JSON DEFAULT \'{"lon":0,"lat":0}\' NOT NULL'
    assert column(FIELD, "postgresql") == 'JSONB DEFAULT \'{"lon":0,"lat":0}\' NOT NULL'
    assert stored(FIELD, {"lon": 1.5, "lat": -2}) == {"lon": 1.5, "lat": -2}
    assert FIELD.from_db(None) == {"lon": 0, "lat": 0}
