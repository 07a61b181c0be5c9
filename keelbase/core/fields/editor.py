"""``editor``: rich text (HTML) limited by size in bytes."""

from __future__ import annotations

from typing import Any, ClassVar

from keelbase.core.fields.base import Field, FieldInvalid

DEFAULT_MAX_SIZE = 5 << 20


class EditorField(Field):
    type: ClassVar[str] = "editor"

    maxSize: int = 0
    convertURLs: bool = False

    def options_json(self) -> dict[str, Any]:
        return {"convertURLs": self.convertURLs, "maxSize": self.maxSize}

    def validate_value(self, value: Any) -> None:
        limit = self.maxSize or DEFAULT_MAX_SIZE
        if len(value.encode()) > limit:
            raise FieldInvalid(
                "validation_content_size_limit",
                f"The maximum allowed content size is {limit} bytes.",
                {"maxSize": limit},
            )
