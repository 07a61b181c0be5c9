"""``json``: any JSON value, ``null`` when empty, limited by its encoded size."""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from keelbase.core.fields.base import Field, FieldInvalid, Storage

DEFAULT_MAX_SIZE = 5 << 20
_RAW_JSON_START = tuple('0123456789-"[{')


class JsonField(Field):
    type: ClassVar[str] = "json"
    storage: ClassVar[Storage] = Storage.JSON

    maxSize: int = 0

    def options_json(self) -> dict[str, Any]:
        return {"maxSize": self.maxSize}

    def empty(self) -> Any:
        return None

    def prepare(self, raw: Any) -> Any:
        """Strings that are JSON documents are parsed; other strings stay strings.

        As in PocketBase, the first character decides: " [1]" is a string.
        """
        if isinstance(raw, str) and (
            raw in ("null", "true", "false") or raw.startswith(_RAW_JSON_START)
        ):
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                return raw
        return raw

    def is_empty(self, value: Any) -> bool:
        return value is None or value == "" or value == [] or value == {}

    def check(self, value: Any) -> None:
        if self.required and self.is_empty(value):
            raise FieldInvalid("validation_required", "Cannot be blank.")
        if value is None:
            return
        limit = self.maxSize or DEFAULT_MAX_SIZE
        try:
            size = len(orjson.dumps(value))
        except TypeError as error:
            raise FieldInvalid("validation_invalid_json", "Must be a valid json value.") from error
        if size > limit:
            raise FieldInvalid(
                "validation_json_size_limit",
                f"The maximum allowed JSON size is {limit} bytes.",
                {"maxSize": limit},
            )

    def to_db(self, value: Any) -> Any:
        return None if value is None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()

    def from_db(self, raw: Any) -> Any:
        if raw is None:
            return None
        if isinstance(raw, str):
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                return raw
        return raw
