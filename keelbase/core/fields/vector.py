"""``vector``: a fixed number of finite numbers (an embedding), for nearest-neighbour search.

Stored as float32, like pgvector: the column holds the little-endian float32
bytes in base64 text, four bytes a dimension, which the search reads straight
into an array. Values are rounded to float32 when set, and shown in the
shortest form that reads back to the same float32 (``0.1`` stays ``0.1``), so
a record reads back exactly as it was answered when written.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import math
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from keelbase.core.fields.base import Field, FieldInvalid, Storage
from keelbase.errors import field_error

if TYPE_CHECKING:  # numpy is imported when first used: a start without vectors skips it
    import numpy as np

MAX_DIMENSIONS = 4096
MAX_EMBEDDED_DIMENSIONS = 256  # what the local embedding model gives (embedFrom)


class VectorField(Field):
    type: ClassVar[str] = "vector"
    storage: ClassVar[Storage] = Storage.TEXT

    dimensions: int = 0
    # Text fields whose values the server embeds into this field (the embeddings
    # extra), when a record is created or they change and no vector is sent.
    embedFrom: list[str] = []

    def options_json(self) -> dict[str, Any]:
        return {"dimensions": self.dimensions, "embedFrom": list(self.embedFrom)}

    def definition_errors(self) -> dict[str, dict[str, Any]]:
        if not 1 <= self.dimensions <= MAX_DIMENSIONS:
            return {
                "dimensions": field_error(
                    "validation_invalid_dimensions",
                    f"Must be between 1 and {MAX_DIMENSIONS}.",
                    {"max": MAX_DIMENSIONS},
                )
            }
        if self.embedFrom:
            if importlib.util.find_spec("wordllama") is None:
                return {
                    "embedFrom": field_error(
                        "validation_embeddings_unavailable",
                        "Text embeddings need the embeddings extra: pip install 'keelbase[embeddings]'.",
                    )
                }
            if self.dimensions > MAX_EMBEDDED_DIMENSIONS:
                return {
                    "dimensions": field_error(
                        "validation_invalid_dimensions",
                        f"Embedded text has at most {MAX_EMBEDDED_DIMENSIONS} dimensions.",
                        {"max": MAX_EMBEDDED_DIMENSIONS},
                    )
                }
        return {}

    def empty(self) -> Any:
        return []

    def prepare(self, raw: Any) -> Any:
        """A list of numbers, rounded to float32; anything else is kept for the check to refuse."""
        import numpy as np

        if raw is None or raw == "":
            return []
        if isinstance(raw, str):
            try:
                raw = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return raw
        if isinstance(raw, list) and raw and all(_finite(x) for x in raw):
            with np.errstate(over="ignore"):  # beyond float32: inf, which the check refuses
                return shown(np.asarray(raw, dtype=np.float64).astype(np.float32))
        return raw

    def is_empty(self, value: Any) -> bool:
        return value is None or value == []

    def validate_value(self, value: Any) -> None:
        if (
            not isinstance(value, list)
            or len(value) != self.dimensions
            or not all(_finite(x) for x in value)
        ):
            raise FieldInvalid(
                "validation_invalid_vector",
                f"Must be a list of {self.dimensions} finite numbers.",
                {"dimensions": self.dimensions},
            )

    def to_db(self, value: Any) -> Any:
        import numpy as np

        if not value:
            return ""
        return base64.b64encode(np.asarray(value, dtype="<f4").tobytes()).decode()

    def from_db(self, raw: Any) -> Any:
        array = decode(raw)
        return [] if array is None else shown(array)


def _finite(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def decode(raw: Any) -> np.ndarray | None:
    """The stored float32 array, or None for an empty or unreadable cell."""
    import numpy as np

    if not raw or not isinstance(raw, str):
        return None
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(data) % 4:
        return None
    return np.frombuffer(data, dtype="<f4")


def shown(array: np.ndarray) -> list[float | int]:
    """Each float32 in the shortest decimal that reads back to it (``0.1``, not
    ``0.10000000149011612``); whole numbers as integers, as ``number`` shows them."""
    out: list[float | int] = []
    for text in array.astype(str):
        value = float(text)
        out.append(int(value) if value.is_integer() and abs(value) < 2**53 else value)
    return out
