"""``select``: one or more values out of a fixed list."""

from __future__ import annotations

from typing import Any, ClassVar

from keelbase.core.fields.base import FieldInvalid
from keelbase.core.fields.multivalue import MultiValueField
from keelbase.errors import field_error


class SelectField(MultiValueField):
    type: ClassVar[str] = "select"

    values: list[str] = []

    def options_json(self) -> dict[str, Any]:
        return {"maxSelect": self.maxSelect, "values": list(self.values)}

    def definition_errors(self) -> dict[str, dict[str, Any]]:
        errors: dict[str, dict[str, Any]] = {}
        if not self.values:
            errors["values"] = field_error("validation_required", "Cannot be blank.")
        if self.maxSelect < 0 or (self.values and self.maxSelect > len(self.values)):
            errors["maxSelect"] = field_error(
                "validation_max_less_equal_than_required",
                f"Must be no greater than {len(self.values)}.",
                {"threshold": len(self.values)},
            )
        return errors

    def validate_value(self, value: Any) -> None:
        items = self.as_list(value)
        self.check_count(items)
        for item in items:
            if item not in self.values:
                raise FieldInvalid(
                    "validation_invalid_value", f"Invalid value {item}.", {"value": item}
                )
