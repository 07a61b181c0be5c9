"""What ``select``, ``relation`` and ``file`` share: one value, or a list when maxSelect > 1."""

from __future__ import annotations

from typing import Any

import orjson

from keelbase.core.fields.base import Field, FieldInvalid, Storage, unique_strings


class MultiValueField(Field):
    maxSelect: int = 0

    @property
    def multiple(self) -> bool:
        return self.maxSelect > 1

    @property
    def storage_kind(self) -> Storage:
        return Storage.JSON_ARRAY if self.multiple else Storage.TEXT

    def empty(self) -> Any:
        return [] if self.multiple else ""

    def prepare(self, raw: Any) -> Any:
        values = unique_strings(raw)
        if self.multiple:
            return values
        return values[-1] if values else ""

    def check_count(
        self,
        items: list[str],
        code: str = "validation_too_many_values",
        message: str = "Select no more than {limit}.",
    ) -> None:
        """At most ``maxSelect`` items (one when the field holds a single value)."""
        limit = max(self.maxSelect, 1)
        if len(items) > limit:
            raise FieldInvalid(code, message.format(limit=limit), {"maxSelect": limit})

    def as_list(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return value
        return [value] if value else []

    def to_db(self, value: Any) -> Any:
        if self.multiple:
            return orjson.dumps(self.as_list(value)).decode()
        return value if isinstance(value, str) else (value[-1] if value else "")

    def from_db(self, raw: Any) -> Any:
        if self.multiple:
            if raw in (None, ""):
                return []
            if isinstance(raw, str) and raw.startswith("["):
                try:
                    parsed = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    return [raw]
                return [str(v) for v in parsed] if isinstance(parsed, list) else [raw]
            return [str(raw)]
        if raw is None:
            return ""
        if isinstance(raw, str) and raw.startswith("["):
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return raw
            if isinstance(parsed, list):
                return str(parsed[-1]) if parsed else ""
        return raw

    def modify(self, current: Any, modifier: str, raw: Any) -> Any:
        existing = self.as_list(current)
        given = unique_strings(raw)
        if modifier == "+":
            merged = existing + [v for v in given if v not in existing]
        elif modifier == "prefix+":
            merged = [v for v in given if v not in existing] + existing
        elif modifier == "-":
            merged = [v for v in existing if v not in given]
        else:
            return current
        if self.multiple:
            return merged
        return merged[-1] if merged else ""
