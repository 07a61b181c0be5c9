"""``date``: a UTC datetime stored as ``YYYY-MM-DD HH:MM:SS.sssZ``; "" when empty.

Like PocketBase, input that is not a date becomes "" rather than an error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from keelbase.core.dates import normalize_datetime, parse_datetime
from keelbase.core.fields.base import Field, FieldInvalid
from keelbase.errors import field_error


def _go_string(value: datetime) -> str:
    """Go's time.String() for a UTC time, as PocketBase's messages show it."""
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + " +0000 UTC"


def _rfc3339(value: datetime) -> str:
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


class DateField(Field):
    type: ClassVar[str] = "date"

    min: str = ""
    max: str = ""

    def options_json(self) -> dict[str, Any]:
        return {"max": normalize_datetime(self.max), "min": normalize_datetime(self.min)}

    def definition_errors(self) -> dict[str, dict[str, Any]]:
        errors: dict[str, dict[str, Any]] = {}
        for option in ("min", "max"):
            raw = getattr(self, option)
            if raw and parse_datetime(raw) is None:
                errors[option] = field_error("validation_invalid_date", "Must be a valid date.")
        low, high = parse_datetime(self.min or "-"), parse_datetime(self.max or "-")
        if not errors and low is not None and high is not None and high < low:
            errors["max"] = field_error("validation_date_out_of_range", "The date is out of range.")
        return errors

    def prepare(self, raw: Any) -> Any:
        return normalize_datetime(raw)

    def validate_value(self, value: Any) -> None:
        moment = parse_datetime(value)
        if moment is None:
            return
        low = parse_datetime(self.min) if self.min else None
        high = parse_datetime(self.max) if self.max else None
        if low is not None and moment < low:
            raise FieldInvalid(
                "validation_min_greater_equal_than_required",
                f"Must be no less than {_go_string(low)}.",
                {"threshold": _rfc3339(low)},
            )
        if high is not None and moment > high:
            raise FieldInvalid(
                "validation_max_less_equal_than_required",
                f"Must be no greater than {_go_string(high)}.",
                {"threshold": _rfc3339(high)},
            )
