"""``file``: names of files stored for the record.

Uploads themselves are the files service's work; here are the options and the
rules a list of names must follow.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from keelbase.core.fields.multivalue import MultiValueField
from keelbase.errors import field_error

DEFAULT_MAX_SIZE = 5 << 20
THUMB = re.compile(r"^(\d+)x(\d+)([tbf]?)$")


class FileField(MultiValueField):
    type: ClassVar[str] = "file"

    maxSize: int = 0
    mimeTypes: list[str] = []
    thumbs: list[str] = []
    protected: bool = False

    def options_json(self) -> dict[str, Any]:
        return {
            "maxSelect": self.maxSelect,
            "maxSize": self.maxSize,
            "mimeTypes": list(self.mimeTypes),
            "protected": self.protected,
            "thumbs": list(self.thumbs),
        }

    def definition_errors(self) -> dict[str, dict[str, Any]]:
        errors: dict[str, dict[str, Any]] = {}
        for index, thumb in enumerate(self.thumbs):
            match = THUMB.match(thumb)
            if not match or (match.group(1) == "0" and match.group(2) == "0"):
                errors["thumbs"] = {
                    str(index): field_error(
                        "validation_invalid_thumb_format", "Invalid thumb format."
                    )
                }
        return errors

    def validate_value(self, value: Any) -> None:
        self.check_count(
            self.as_list(value),
            "validation_too_many_files",
            "The maximum allowed files is {limit}.",
        )
