"""Field types, one module each, all behind the ``Field`` model of ``base.py``.

``FIELD_TYPES`` is the registry: adding a type means one module and one line here.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from keelbase.core.fields.autodate import AutodateField
from keelbase.core.fields.base import Field, FieldInvalid, Storage, default_field_id
from keelbase.core.fields.boolean import BoolField
from keelbase.core.fields.date import DateField
from keelbase.core.fields.editor import EditorField
from keelbase.core.fields.email import EmailField
from keelbase.core.fields.file import FileField
from keelbase.core.fields.geopoint import GeoPointField
from keelbase.core.fields.json import JsonField
from keelbase.core.fields.number import NumberField
from keelbase.core.fields.password import PasswordField
from keelbase.core.fields.relation import RelationField
from keelbase.core.fields.select import SelectField
from keelbase.core.fields.text import TextField
from keelbase.core.fields.url import UrlField
from keelbase.core.fields.vector import VectorField
from keelbase.errors import field_error

FIELD_TYPES: dict[str, type[Field]] = {
    cls.type: cls
    for cls in (
        TextField,
        EditorField,
        NumberField,
        BoolField,
        EmailField,
        UrlField,
        DateField,
        AutodateField,
        SelectField,
        JsonField,
        RelationField,
        FileField,
        PasswordField,
        GeoPointField,
        VectorField,
    )
}


class FieldDefinitionError(ValueError):
    """A field definition that cannot even be read; ``errors`` is keyed like PocketBase's."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(str(errors))
        self.errors = errors


def field_from_json(data: Any) -> Field:
    """Build a field from its JSON definition, or raise ``FieldDefinitionError``."""
    if not isinstance(data, dict):
        raise FieldDefinitionError(
            {"type": field_error("validation_invalid_value", "Invalid field definition.")}
        )
    cls = FIELD_TYPES.get(str(data.get("type", "")))
    if cls is None:
        raise FieldDefinitionError(
            {"type": field_error("validation_in_invalid", "Must be a valid value.")}
        )
    try:
        return cls.model_validate(data)
    except ValidationError as error:
        errors: dict[str, Any] = {}
        for item in error.errors():
            key = str(item["loc"][0]) if item["loc"] else "type"
            errors[key] = field_error("validation_invalid_value", "Invalid value.")
        raise FieldDefinitionError(errors) from error


__all__ = [
    "FIELD_TYPES",
    "AutodateField",
    "BoolField",
    "DateField",
    "EditorField",
    "EmailField",
    "Field",
    "FieldDefinitionError",
    "FieldInvalid",
    "FileField",
    "GeoPointField",
    "JsonField",
    "NumberField",
    "PasswordField",
    "RelationField",
    "SelectField",
    "Storage",
    "TextField",
    "UrlField",
    "VectorField",
    "default_field_id",
    "field_from_json",
]
