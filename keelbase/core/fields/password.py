"""``password``: kept only as a hash and never returned.

Hashing is the auth service's job (it owns argon2/bcrypt); the field checks
the plain text a client sends and stores whatever hash it is given.
"""

from __future__ import annotations

from typing import Any, ClassVar

from keelbase.core.fields.base import Field, FieldInvalid
from keelbase.core.fields.text import compiled
from keelbase.errors import field_error

MAX_LENGTH = 71


class PasswordField(Field):
    type: ClassVar[str] = "password"

    min: int = 0
    max: int = 0
    pattern: str = ""
    cost: int = 0

    def options_json(self) -> dict[str, Any]:
        return {"cost": self.cost, "max": self.max, "min": self.min, "pattern": self.pattern}

    def definition_errors(self) -> dict[str, dict[str, Any]]:
        errors: dict[str, dict[str, Any]] = {}
        if self.max > MAX_LENGTH:
            errors["max"] = field_error(
                "validation_max_less_equal_than_required",
                f"Must be no greater than {MAX_LENGTH}.",
                {"threshold": MAX_LENGTH},
            )
        if self.cost and not 4 <= self.cost <= 31:
            errors["cost"] = field_error(
                "validation_min_greater_equal_than_required",
                "Must be no less than 4.",
                {"threshold": 4},
            )
        return errors

    def validate_plain(self, plain: str) -> None:
        """Rules for a new password, before it is hashed."""
        if self.min and len(plain) < self.min:
            raise FieldInvalid(
                "validation_min_text_constraint", f"Must be at least {self.min} character(s)."
            )
        limit = self.max or MAX_LENGTH
        if len(plain) > limit:  # characters, as PocketBase counts them (runes), not bytes
            raise FieldInvalid(
                "validation_max_text_constraint", f"Must be less than {limit} character(s)."
            )
        if self.pattern and not compiled(self.pattern).search(plain):
            raise FieldInvalid("validation_invalid_format", "Invalid value format.")

    def check(self, value: Any) -> None:
        if self.required and not value:
            raise FieldInvalid("validation_required", "Cannot be blank.")
