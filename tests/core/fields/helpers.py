"""What the field tests share: run a value through a field as the records service does."""

from __future__ import annotations

from typing import Any

from keelbase.core.fields import Field, FieldInvalid
from keelbase.store.ddl import column_definition


def problem(field: Field, raw: Any) -> FieldInvalid | None:
    """The error ``raw`` gets once prepared and checked, or None when it is valid."""
    try:
        field.check(field.prepare(raw))
    except FieldInvalid as error:
        return error
    return None


def code(field: Field, raw: Any) -> str | None:
    error = problem(field, raw)
    return error.code if error is not None else None


def column(field: Field, dialect: str) -> str:
    """The column's type and constraints as the store creates it, without its name."""
    return column_definition(field, dialect).split(" ", 1)[1]


def stored(field: Field, raw: Any) -> Any:
    """``raw`` prepared, written and read back (the store's own types aside)."""
    return field.from_db(field.to_db(field.prepare(raw)))
