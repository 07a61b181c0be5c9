"""``autodate``: set by the server on create and/or update; clients cannot set it."""

from __future__ import annotations

from typing import Any, ClassVar

from keelbase.core.fields.base import Field
from keelbase.errors import field_error


class AutodateField(Field):
    type: ClassVar[str] = "autodate"
    has_help: ClassVar[bool] = False
    has_required: ClassVar[bool] = False

    onCreate: bool = False
    onUpdate: bool = False

    def options_json(self) -> dict[str, Any]:
        return {"onCreate": self.onCreate, "onUpdate": self.onUpdate}

    def definition_errors(self) -> dict[str, dict[str, Any]]:
        if not self.onCreate and not self.onUpdate:
            return {
                "onCreate": field_error(
                    "validation_required", "Either onCreate or onUpdate must be enabled."
                )
            }
        return {}

    def check(self, value: Any) -> None:
        """Server-set; nothing a client sends can make it invalid."""
