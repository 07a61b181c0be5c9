"""The ``Field`` protocol every field type implements, and what they share.

A field knows its options (as PocketBase names them), how a client's input is
cast to its value, how that value is validated, stored and returned. It knows
nothing of SQL dialects: ``storage`` names the kind of column it needs and the
store picks the type.
"""

from __future__ import annotations

import math
import re
import zlib
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from keelbase.errors import CODE_REQUIRED, MSG_REQUIRED, field_error


class Storage(Enum):
    """The kind of column a field needs; the store maps it to a dialect's type."""

    TEXT = "text"
    NUMBER = "number"
    BOOL = "bool"
    JSON = "json"  # any JSON value, NULL when empty
    JSON_ARRAY = "json_array"  # a JSON array, '[]' when empty
    GEO = "geo"  # {"lon": x, "lat": y}


class FieldInvalid(Exception):
    """A value that breaks the field's rules; ``code`` and ``message`` as PocketBase gives them."""

    def __init__(self, code: str, message: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params

    def to_json(self) -> dict[str, Any]:
        return field_error(self.code, self.message, self.params)


FIELD_NAME = re.compile(r"^\w+$", re.ASCII)  # as Go's \w in PocketBase: ASCII only
RESERVED_NAMES = frozenset(
    {"null", "true", "false", "_rowid_", "collectionid", "collectionname", "expand"}
)


def default_field_id(field_type: str, name: str) -> str:
    """PocketBase's stable id for a field without one: type + crc32 of the name."""
    return f"{field_type}{zlib.crc32(name.encode())}"


class Field(BaseModel):
    """The options every field has; subclasses add their own."""

    model_config = ConfigDict(extra="ignore", validate_assignment=False, populate_by_name=True)

    type: ClassVar[str]
    storage: ClassVar[Storage] = Storage.TEXT
    # Options that only some types show in JSON (PocketBase leaves "help" off autodate).
    has_help: ClassVar[bool] = True
    has_required: ClassVar[bool] = True

    id: str = ""
    name: str = ""
    system: bool = False
    hidden: bool = False
    presentable: bool = False
    required: bool = False
    help: str = ""

    @property
    def multiple(self) -> bool:
        """Whether the value is a list (select, relation and file with maxSelect > 1)."""
        return False

    @property
    def storage_kind(self) -> Storage:
        return self.storage

    def options_json(self) -> dict[str, Any]:
        """The type's own options, as PocketBase names them."""
        return {}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "hidden": self.hidden,
            "id": self.id,
            "name": self.name,
            "presentable": self.presentable,
            "system": self.system,
            "type": self.type,
        }
        if self.has_help:
            out["help"] = self.help
        if self.has_required:
            out["required"] = self.required
        out.update(self.options_json())
        return dict(sorted(out.items()))

    def definition_errors(self) -> dict[str, dict[str, Any]]:
        """Problems with this field's own options, keyed by option name."""
        return {}

    # Values --------------------------------------------------------------

    def empty(self) -> Any:
        return ""

    def prepare(self, raw: Any) -> Any:
        """Cast a client's input to this field's value, as PocketBase's PrepareValue does."""
        return cast_text(raw)

    def is_empty(self, value: Any) -> bool:
        return value in ("", None, 0, False, [], {})

    def check(self, value: Any) -> None:
        """Raise ``FieldInvalid`` when ``value`` (already prepared) breaks a rule."""
        if self.required and self.is_empty(value):
            raise FieldInvalid(CODE_REQUIRED, MSG_REQUIRED)
        if not self.is_empty(value):
            self.validate_value(value)

    def validate_value(self, value: Any) -> None:
        """Rules for a non-empty value."""

    def to_db(self, value: Any) -> Any:
        return value

    def from_db(self, raw: Any) -> Any:
        return "" if raw is None else raw

    def modify(self, current: Any, modifier: str, raw: Any) -> Any:
        """The value after ``field+`` (append), ``+field`` (prepend) or ``field-`` (remove).

        Types without modifiers keep the current value, as PocketBase ignores them.
        """
        return current


def cast_text(raw: Any) -> str:
    """Go's cast.ToString: numbers in their shortest form, lists and maps as ""."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return format_number(raw)
    return ""


def format_number(value: float) -> str:
    """Go's strconv.FormatFloat(value, 'f', -1, 64): the shortest digits, never an exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format(Decimal(repr(value)).normalize(), "f")


def cast_number(raw: Any) -> int | float:
    """Go's cast.ToFloat64, kept as int when whole so JSON shows ``5`` not ``5.0``."""
    value: float
    if isinstance(raw, bool):
        value = 1.0 if raw else 0.0
    elif isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            value = 0.0
    else:
        value = 0.0
    return normalize_number(value)


def normalize_number(value: float | int) -> int | float:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def cast_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        return raw != 0
    if isinstance(raw, str):
        return raw.strip() in ("1", "t", "T", "TRUE", "true", "True")
    return False


def unique_strings(raw: Any) -> list[str]:
    """PocketBase's ToUniqueStringSlice: a list of non-empty distinct strings, order kept."""
    import orjson

    items: list[Any]
    if raw is None:
        items = []
    elif isinstance(raw, list | tuple):
        items = list(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                parsed = orjson.loads(text)
                items = parsed if isinstance(parsed, list) else [raw]
            except orjson.JSONDecodeError:
                items = [raw]
        else:
            items = [raw]
    else:
        items = [raw]
    out: list[str] = []
    for item in items:
        text = cast_text(item)
        if text and text not in out:
            out.append(text)
    return out
