"""``bool``: true or false; ``required`` means it must be true."""

from __future__ import annotations

from typing import Any, ClassVar

from keelbase.core.fields.base import Field, Storage, cast_bool


class BoolField(Field):
    type: ClassVar[str] = "bool"
    storage: ClassVar[Storage] = Storage.BOOL

    def empty(self) -> Any:
        return False

    def prepare(self, raw: Any) -> Any:
        return cast_bool(raw)

    def to_db(self, value: Any) -> Any:
        return bool(value)

    def from_db(self, raw: Any) -> Any:
        return bool(raw) if not isinstance(raw, str) else raw.lower() in ("1", "true", "t")
