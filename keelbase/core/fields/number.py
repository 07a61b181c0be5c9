"""``number``: a float, shown as an integer when whole, with optional bounds."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from keelbase.core.fields.base import Field, FieldInvalid, Storage, cast_number, normalize_number
from keelbase.errors import field_error


def _show(value: float) -> int | float:
    return normalize_number(value)


class NumberField(Field):
    type: ClassVar[str] = "number"
    storage: ClassVar[Storage] = Storage.NUMBER

    min: float | None = None
    max: float | None = None
    onlyInt: bool = False

    def options_json(self) -> dict[str, Any]:
        return {
            "max": None if self.max is None else _show(self.max),
            "min": None if self.min is None else _show(self.min),
            "onlyInt": self.onlyInt,
        }

    def definition_errors(self) -> dict[str, dict[str, Any]]:
        if self.min is not None and self.max is not None and self.max < self.min:
            return {
                "max": field_error(
                    "validation_min_greater_equal_than_required",
                    f"Must be no less than {_show(self.min)}.",
                    {"threshold": _show(self.min)},
                )
            }
        return {}

    def empty(self) -> Any:
        return 0

    def prepare(self, raw: Any) -> Any:
        return cast_number(raw)

    def validate_value(self, value: Any) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise FieldInvalid(
                "validation_not_a_number", "The submitted number is not properly formatted."
            )
        if self.onlyInt and not float(value).is_integer():
            raise FieldInvalid("validation_only_int_constraint", "Decimal numbers are not allowed.")
        if self.min is not None and value < self.min:
            shown = _show(self.min)
            raise FieldInvalid(
                "validation_min_number_constraint",
                f"Must be greater or equal than {shown}.",
                {"min": shown},
            )
        if self.max is not None and value > self.max:
            shown = _show(self.max)
            raise FieldInvalid(
                "validation_max_number_constraint",
                f"Must be less or equal than {shown}.",
                {"max": shown},
            )

    def from_db(self, raw: Any) -> Any:
        if raw is None:
            return 0
        if isinstance(raw, str):
            return cast_number(raw)
        return normalize_number(raw)

    def modify(self, current: Any, modifier: str, raw: Any) -> Any:
        if modifier == "+":
            return normalize_number(float(current or 0) + float(cast_number(raw)))
        if modifier == "-":
            return normalize_number(float(current or 0) - float(cast_number(raw)))
        return current
