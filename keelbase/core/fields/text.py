"""``text``: a string with length limits, a pattern and an optional generated value.

The ``id`` field of every collection is a text field with ``primaryKey``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, ClassVar

from keelbase.core.fields.base import Field, FieldInvalid
from keelbase.core.patterns import generate_from_pattern, pattern_error
from keelbase.errors import field_error

DEFAULT_MAX = 5000


# A pure function of the pattern text: never stale, nothing invalidates it.
@lru_cache(maxsize=512)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class TextField(Field):
    type: ClassVar[str] = "text"

    min: int = 0
    max: int = 0
    pattern: str = ""
    autogeneratePattern: str = ""
    primaryKey: bool = False

    def options_json(self) -> dict[str, Any]:
        return {
            "autogeneratePattern": self.autogeneratePattern,
            "max": self.max,
            "min": self.min,
            "pattern": self.pattern,
            "primaryKey": self.primaryKey,
        }

    def definition_errors(self) -> dict[str, dict[str, Any]]:
        errors: dict[str, dict[str, Any]] = {}
        if self.min < 0:
            errors["min"] = _min_zero()
        if self.max < 0 or (self.max and self.max < self.min):
            errors["max"] = field_error(
                "validation_min_greater_equal_than_required",
                f"Must be no less than {self.min}.",
                {"threshold": self.min},
            )
        for option in ("pattern", "autogeneratePattern"):
            problem = pattern_error(getattr(self, option))
            if problem:
                errors[option] = field_error("validation_invalid_regex", problem)
        if self.primaryKey and self.name != "id":
            errors["name"] = field_error(
                "validation_invalid_pk_name", 'The primary key must be named "id".'
            )
        return errors

    def generate(self) -> str:
        return generate_from_pattern(self.autogeneratePattern) if self.autogeneratePattern else ""

    def check(self, value: Any) -> None:
        if (self.required or self.primaryKey) and value == "":
            raise FieldInvalid("validation_required", "Cannot be blank.")
        if value != "":
            self.validate_value(value)

    def validate_value(self, value: Any) -> None:
        length = len(value)
        if self.min and length < self.min:
            raise FieldInvalid(
                "validation_min_text_constraint",
                f"Must be at least {self.min} character(s).",
                {"min": self.min},
            )
        limit = self.max or DEFAULT_MAX
        if length > limit:
            raise FieldInvalid(
                "validation_max_text_constraint",
                f"Must be no more than {limit} character(s).",
                {"max": limit},
            )
        if self.pattern and not compiled(self.pattern).search(value):
            raise FieldInvalid("validation_invalid_format", "Invalid value format.")


def _min_zero() -> dict[str, Any]:
    return field_error(
        "validation_min_greater_equal_than_required", "Must be no less than 0.", {"threshold": 0}
    )
