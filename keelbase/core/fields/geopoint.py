"""``geoPoint``: ``{"lon": x, "lat": y}``; (0, 0) counts as empty."""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from keelbase.core.fields.base import Field, FieldInvalid, Storage, cast_number


def _point(lon: Any = 0, lat: Any = 0) -> dict[str, Any]:
    return {"lon": cast_number(lon), "lat": cast_number(lat)}


class GeoPointField(Field):
    type: ClassVar[str] = "geoPoint"
    storage: ClassVar[Storage] = Storage.GEO

    def empty(self) -> Any:
        return _point()

    def prepare(self, raw: Any) -> Any:
        if isinstance(raw, str):
            try:
                raw = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return _point()
        if isinstance(raw, dict):
            return _point(raw.get("lon", 0), raw.get("lat", 0))
        return _point()

    def is_empty(self, value: Any) -> bool:
        return not value or (value.get("lon") == 0 and value.get("lat") == 0)

    def validate_value(self, value: Any) -> None:
        if not -90 <= value["lat"] <= 90:
            raise FieldInvalid(
                "validation_invalid_latitude", "Latitude must be between -90 and 90 degrees."
            )
        if not -180 <= value["lon"] <= 180:
            raise FieldInvalid(
                "validation_invalid_longitude", "Longitude must be between -180 and 180 degrees."
            )

    def to_db(self, value: Any) -> Any:
        if isinstance(value, dict) and value.keys() == {"lon", "lat"}:
            # Always lon first, as a record write stores it: an import brings the
            # point with sorted keys, and SQLite keeps the JSON text as given.
            value = {"lon": value["lon"], "lat": value["lat"]}
        return orjson.dumps(value).decode()

    def from_db(self, raw: Any) -> Any:
        if isinstance(raw, str):
            return self.prepare(raw)
        return _point()
