"""``relation``: ids of records in another collection.

Whether the ids exist is checked by the records service (it needs the store);
the field checks only counts.
"""

from __future__ import annotations

from typing import Any, ClassVar

from keelbase.core.fields.base import FieldInvalid
from keelbase.core.fields.multivalue import MultiValueField
from keelbase.errors import field_error

MISSING_RECORDS = (
    "validation_missing_rel_records",
    "Failed to find all relation records with the provided ids.",
)


class RelationField(MultiValueField):
    type: ClassVar[str] = "relation"

    collectionId: str = ""
    cascadeDelete: bool = False
    minSelect: int = 0

    def options_json(self) -> dict[str, Any]:
        return {
            "cascadeDelete": self.cascadeDelete,
            "collectionId": self.collectionId,
            "maxSelect": self.maxSelect,
            "minSelect": self.minSelect,
        }

    def definition_errors(self) -> dict[str, dict[str, Any]]:
        errors: dict[str, dict[str, Any]] = {}
        if not self.collectionId:
            errors["collectionId"] = field_error("validation_required", "Cannot be blank.")
        if self.minSelect < 0:
            errors["minSelect"] = field_error(
                "validation_min_greater_equal_than_required",
                "Must be no less than 0.",
                {"threshold": 0},
            )
        if self.minSelect > 0 and self.maxSelect < self.minSelect:
            errors["maxSelect"] = field_error(
                "validation_min_greater_equal_than_required",
                f"Must be no less than {self.minSelect}.",
                {"threshold": self.minSelect},
            )
        return errors

    def validate_value(self, value: Any) -> None:
        items = self.as_list(value)
        if self.minSelect and len(items) < self.minSelect:
            raise FieldInvalid(
                "validation_not_enough_values",
                f"Select at least {self.minSelect}.",
                {"minSelect": self.minSelect},
            )
        self.check_count(items)
