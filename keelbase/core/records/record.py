"""A record: its collection and the values of its fields, as Python values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keelbase.core.collections.collection import Collection


@dataclass
class Record:
    collection: Collection
    data: dict[str, Any]
    expand: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        value: str = self.data.get("id", "")
        return value

    @property
    def identity(self) -> tuple[str, str]:
        """Who this record is: its collection's id and its own. An id alone names a record
        only within its collection; two auth collections may hold the same id."""
        return (self.collection.id, self.id)

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def copy(self) -> Record:
        return Record(
            self.collection, dict(self.data), None if self.expand is None else dict(self.expand)
        )
