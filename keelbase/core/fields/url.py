"""``url``: one absolute URL, optionally limited to or barred from some domains."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from keelbase.core.fields.base import FieldInvalid
from keelbase.core.fields.domains import DomainListField


class UrlField(DomainListField):
    type: ClassVar[str] = "url"

    def validate_value(self, value: Any) -> None:
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is None or not parts.scheme or not parts.netloc or " " in value:
            raise FieldInvalid("validation_invalid_url", "Must be a valid url.")
        if not self.domain_allowed(parts.netloc):
            raise FieldInvalid("validation_url_domain_not_allowed", "Url domain is not allowed.")
