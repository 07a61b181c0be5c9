"""A collection's fields as JSON Schema: the record a client reads and the body it sends.

Output schemas name every property but require none: ``?fields=`` and hidden
fields remove any of them from an answer, so a client generator must not
assume one is there. Input schemas carry the checks a client can know in
advance (lengths, ranges, choices); the server still checks everything.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.collections.collection import Collection
from keelbase.core.fields import (
    AutodateField,
    BoolField,
    DateField,
    EmailField,
    Field,
    FileField,
    GeoPointField,
    JsonField,
    NumberField,
    PasswordField,
    RelationField,
    SelectField,
    TextField,
    VectorField,
)

JsonSchema = dict[str, Any]

GEO_POINT: JsonSchema = {
    "type": "object",
    "properties": {"lon": {"type": "number"}, "lat": {"type": "number"}},
}
# A date as PocketBase writes it ("2024-01-02 03:04:05.678Z") or "" when unset.
DATE_TEXT: JsonSchema = {"type": "string", "description": "`YYYY-MM-DD HH:MM:SS.sssZ` or empty"}


def _many(field: Field, item: JsonSchema) -> JsonSchema:
    if field.multiple:
        out: JsonSchema = {"type": "array", "items": item}
        if isinstance(field, (SelectField, RelationField, FileField)) and field.maxSelect:
            out["maxItems"] = field.maxSelect
        return out
    return item


def output_schema(field: Field) -> JsonSchema | None:
    """The value in a record's JSON, or None when it is never shown (passwords)."""
    if isinstance(field, PasswordField):
        return None
    if isinstance(field, NumberField):
        return {"type": "number"}
    if isinstance(field, BoolField):
        return {"type": "boolean"}
    if isinstance(field, (DateField, AutodateField)):
        return dict(DATE_TEXT)
    if isinstance(field, JsonField):
        return {"description": "any JSON value (null when empty)"}
    if isinstance(field, GeoPointField):
        return dict(GEO_POINT)
    if isinstance(field, VectorField):
        size = field.dimensions
        return {"type": "array", "items": {"type": "number"}, "minItems": size, "maxItems": size}
    if isinstance(field, SelectField):
        return _many(field, {"type": "string"})
    if isinstance(field, RelationField):
        return _many(field, {"type": "string", "description": "a record id"})
    if isinstance(field, FileField):
        return _many(field, {"type": "string", "description": "a file name"})
    return {"type": "string"}


def input_schema(field: Field) -> JsonSchema | None:
    """The value a client may send in a JSON body, or None for fields it cannot set."""
    if isinstance(field, AutodateField):
        return None
    if isinstance(field, TextField):
        text: JsonSchema = {"type": "string"}
        if field.max:
            text["maxLength"] = field.max
        if field.min and not field.autogeneratePattern:
            text["minLength"] = field.min
        if field.pattern:
            text["pattern"] = field.pattern
        return text
    if isinstance(field, PasswordField):
        password: JsonSchema = {"type": "string", "writeOnly": True}
        if field.max:
            password["maxLength"] = field.max
        if field.min:
            password["minLength"] = field.min
        return password
    if isinstance(field, NumberField):
        number: JsonSchema = {"type": "integer" if field.onlyInt else "number"}
        if field.min is not None:
            number["minimum"] = field.min
        if field.max is not None:
            number["maximum"] = field.max
        return number
    if isinstance(field, SelectField):
        return _many(field, {"type": "string", "enum": list(field.values)})
    if isinstance(field, FileField):
        # JSON bodies can only keep or remove file names; uploads go in multipart bodies.
        return _many(field, {"type": "string"})
    if isinstance(field, EmailField):
        return {"type": "string", "format": "email"}
    # url, editor, date, relation, bool, json, geoPoint: sent as they are read.
    return output_schema(field)


def required_on_create(collection: Collection, field: Field) -> bool:
    """Whether a create without this key is refused whatever its value."""
    if not field.required or isinstance(field, AutodateField):
        return False
    if isinstance(field, TextField) and field.autogeneratePattern:
        return False
    return not (collection.is_auth and field.name == "tokenKey")


def record_schema(collection: Collection) -> JsonSchema:
    properties: dict[str, JsonSchema] = {
        "collectionId": {"type": "string", "const": collection.id},
        "collectionName": {"type": "string", "const": collection.name},
    }
    for field in collection.fields:
        if collection.is_auth and field.name == "tokenKey":
            continue
        schema = output_schema(field)
        if schema is not None:
            properties[field.name] = schema
    properties["expand"] = {
        "type": "object",
        "description": "related records asked for with `?expand=`",
    }
    return {"type": "object", "properties": properties}


def body_schema(collection: Collection, *, create: bool) -> JsonSchema:
    properties: dict[str, JsonSchema] = {}
    required: list[str] = []
    for field in collection.fields:
        schema = input_schema(field)
        if schema is None or (field.name == "id" and not create):
            continue
        if collection.is_auth and field.name == "tokenKey":
            continue
        properties[field.name] = schema
        if create and required_on_create(collection, field):
            required.append(field.name)
    if collection.is_auth:
        properties["passwordConfirm"] = {"type": "string", "writeOnly": True}
        if create:
            required.append("passwordConfirm")
        else:
            properties["oldPassword"] = {"type": "string", "writeOnly": True}
    out: JsonSchema = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def multipart_schema(collection: Collection, *, create: bool) -> JsonSchema | None:
    """The same body as multipart, where file fields take uploads; None without file fields."""
    files = [f for f in collection.fields if isinstance(f, FileField)]
    if not files:
        return None
    body = body_schema(collection, create=create)
    for field in files:
        upload: JsonSchema = {"type": "string", "format": "binary"}
        body["properties"][field.name] = _many(field, upload)
    return body
