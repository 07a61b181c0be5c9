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
ZERO_THUMBS = frozenset({"0x0", "0x0t", "0x0b", "0x0f"})


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
        """PocketBase's rules for each thumb: not a 0x0 size, and WxH with an optional t, b or f."""
        bad: dict[str, Any] = {}
        for index, thumb in enumerate(self.thumbs):
            if thumb in ZERO_THUMBS:
                bad[str(index)] = field_error("validation_not_in_invalid", "Must not be in list.")
            elif not THUMB.match(thumb):
                bad[str(index)] = field_error(
                    "validation_match_invalid", "Must be in a valid format."
                )
        return {"thumbs": bad} if bad else {}

    def validate_value(self, value: Any) -> None:
        self.check_count(
            self.as_list(value),
            "validation_too_many_files",
            "The maximum allowed files is {limit}.",
        )
