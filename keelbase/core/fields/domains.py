"""What ``email`` and ``url`` share: lists of allowed and refused domains."""

from __future__ import annotations

import re
from typing import Any

from keelbase.core.fields.base import Field
from keelbase.errors import field_error

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}$")


class DomainListField(Field):
    exceptDomains: list[str] = []
    onlyDomains: list[str] = []

    def options_json(self) -> dict[str, Any]:
        return {"exceptDomains": list(self.exceptDomains), "onlyDomains": list(self.onlyDomains)}

    def definition_errors(self) -> dict[str, dict[str, Any]]:
        """PocketBase's rules: only one list may be set, and each names domains (every bad one)."""
        errors: dict[str, dict[str, Any]] = {}
        if self.exceptDomains and self.onlyDomains:
            blank = field_error("validation_empty", "Must be blank.")
            return {"exceptDomains": dict(blank), "onlyDomains": dict(blank)}
        for option in ("exceptDomains", "onlyDomains"):
            bad = {
                str(index): field_error("validation_is_domain", "Must be a valid domain.")
                for index, domain in enumerate(getattr(self, option))
                if not _DOMAIN.match(domain)
            }
            if bad:
                errors[option] = bad
        return errors

    def domain_allowed(self, domain: str) -> bool:
        domain = domain.lower()
        if self.onlyDomains and domain not in [d.lower() for d in self.onlyDomains]:
            return False
        return domain not in [d.lower() for d in self.exceptDomains]
