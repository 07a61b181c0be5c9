"""``email``: one address, optionally limited to or barred from some domains."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from keelbase.core.fields.base import FieldInvalid
from keelbase.core.fields.domains import DomainListField

# The shape ozzo-validation's is.Email accepts (RFC 5322 practical subset).
_EMAIL = re.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)


def is_email(value: str) -> bool:
    return len(value) <= 254 and bool(_EMAIL.match(value))


class EmailField(DomainListField):
    type: ClassVar[str] = "email"

    def validate_value(self, value: Any) -> None:
        if not is_email(value):
            raise FieldInvalid("validation_is_email", "Must be a valid email address.")
        if not self.domain_allowed(value.rsplit("@", 1)[1]):
            raise FieldInvalid(
                "validation_email_domain_not_allowed", "Email domain is not allowed."
            )
