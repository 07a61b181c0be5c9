"""Reads a collection definition from a client's (or the store's) JSON.

For an update the client's keys are laid over the existing definition, so a
PATCH may carry only what changes. Field ids default to PocketBase's stable
``type + crc32(name)``, which is how a field without an id in a PATCH matches
its existing self.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as PydanticValidationError

from keelbase.core.auth.options import AuthOptions
from keelbase.core.collections.collection import (
    AUTH,
    AUTH_SYSTEM_FIELDS,
    RULES,
    TYPES,
    VIEW,
    Collection,
    auth_indexes,
    auth_system_fields,
    default_collection_id,
    id_field,
)
from keelbase.core.collections.indexes import parse_index
from keelbase.core.fields import Field, FieldDefinitionError, default_field_id, field_from_json
from keelbase.errors import field_error


class DefinitionError(ValueError):
    """The JSON cannot be read as a collection; ``errors`` is in PocketBase's shape."""

    def __init__(self, errors: dict[str, Any], message: str = "") -> None:
        super().__init__(message or str(errors))
        self.errors = errors
        self.message = message


def _rule(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise DefinitionError({}, "Failed to load the submitted data due to invalid formatting.")
    return value


def collection_from_json(data: Any, existing: Collection | None = None) -> Collection:
    """A ``Collection`` from client JSON; shape errors raise ``DefinitionError``."""
    if not isinstance(data, dict):
        raise DefinitionError({}, "Failed to load the submitted data due to invalid formatting.")
    merged: dict[str, Any] = existing.to_json(with_secrets=True) if existing else {}
    merged.update(data)

    ctype = merged.get("type") or "base"
    name = merged.get("name", "")
    if not isinstance(name, str) or not isinstance(ctype, str):
        raise DefinitionError({}, "Failed to load the submitted data due to invalid formatting.")
    if ctype not in TYPES:
        raise DefinitionError(
            {"type": field_error("validation_in_invalid", "Must be a valid value.")}
        )
    collection_id = (
        existing.id
        if existing
        else str(merged.get("id") or "") or default_collection_id(ctype, name)
    )

    raw_fields = merged.get("fields") or []
    if not isinstance(raw_fields, list):
        raise DefinitionError({}, "Failed to load the submitted data due to invalid formatting.")
    fields = _read_fields(raw_fields, ctype, existing)

    indexes = merged.get("indexes") or []
    if not isinstance(indexes, list) or not all(isinstance(i, str) for i in indexes):
        raise DefinitionError({}, "Failed to load the submitted data due to invalid formatting.")

    collection = Collection(
        id=collection_id,
        name=name,
        type=ctype,
        system=existing.system if existing else False,
        fields=fields,
        indexes=list(indexes),
        viewQuery=str(merged.get("viewQuery") or ""),
        created=existing.created if existing else "",
        updated=existing.updated if existing else "",
    )
    for rule in RULES:
        setattr(collection, rule, _rule(merged.get(rule)))
    collection.search = _read_search(data, fields, existing)
    if ctype == AUTH:
        collection.auth = _read_auth_options(data, existing)
        _ensure_auth_indexes(collection)
    if ctype == VIEW:
        for rule in ("createRule", "updateRule", "deleteRule"):
            setattr(collection, rule, None)
    return collection


def _read_search(
    data: dict[str, Any], fields: list[Field], existing: Collection | None
) -> list[str]:
    """The searchable fields' names: as the client sent them, or the existing ones
    following their fields' renames (a field removed leaves the list)."""
    if "search" not in data:
        if existing is None:
            return []
        names = {f.id: f.name for f in fields}
        old_ids = {f.name: f.id for f in existing.fields}
        return [names[old_ids[n]] for n in existing.search if old_ids.get(n) in names]
    raw = data["search"]
    if raw is None:
        return []
    names_raw = raw.get("fields", []) if isinstance(raw, dict) else None
    if not isinstance(names_raw, list) or not all(isinstance(n, str) for n in names_raw):
        raise DefinitionError(
            {"search": field_error("validation_invalid_value", 'Must be {"fields": [names]}.')}
        )
    return list(dict.fromkeys(names_raw))


def _read_fields(raw_fields: list[Any], ctype: str, existing: Collection | None) -> list[Field]:
    fields: list[Field] = []
    by_name: dict[str, int] = {}
    for raw in raw_fields:
        if not isinstance(raw, dict):
            raise DefinitionError(
                {}, "Failed to load the submitted data due to invalid formatting."
            )
        try:
            field = field_from_json(raw)
        except FieldDefinitionError as error:
            raise DefinitionError(
                {}, "Failed to load the submitted data due to invalid formatting."
            ) from error
        if not field.id:
            field.id = default_field_id(field.type, field.name)
        # PocketBase merges definitions that share a name: the last type wins, the first id stays.
        if field.name and field.name in by_name:
            position = by_name[field.name]
            field.id = fields[position].id
            fields[position] = field
            continue
        by_name[field.name] = len(fields)
        fields.append(field)
    _dedupe_ids(fields)
    if ctype != VIEW and not any(f.name == "id" for f in fields):
        fields.insert(0, id_field())
    if ctype == AUTH:
        present = {f.name for f in fields}
        for system_field in auth_system_fields():
            if system_field.name not in present:
                fields.append(system_field)
        for field in fields:
            if field.name in AUTH_SYSTEM_FIELDS:
                field.system = True
    if existing is not None:
        old_ids = {f.id: f for f in existing.fields}
        for field in fields:
            old = old_ids.get(field.id)
            if old is not None and old.system:
                field.system = True
    return fields


def _dedupe_ids(fields: list[Field]) -> None:
    seen: set[str] = set()
    for field in fields:
        base, suffix = field.id, 2
        while field.id in seen:
            field.id = f"{base}{suffix}"
            suffix += 1
        seen.add(field.id)


def _read_auth_options(data: dict[str, Any], existing: Collection | None) -> AuthOptions:
    base = existing.auth if existing and existing.auth else AuthOptions()
    try:
        return base.merged_with(data)
    except PydanticValidationError as error:
        raise DefinitionError(
            {}, "Failed to load the collection type data due to invalid formatting."
        ) from error


def _ensure_auth_indexes(collection: Collection) -> None:
    wanted = auth_indexes(collection.id, collection.name)
    parsed = [parse_index(sql) for sql in collection.indexes]
    present = {index.name for index in parsed if index is not None}
    for sql in wanted:
        index = parse_index(sql)
        if index is not None and index.name not in present:
            collection.indexes.append(sql)


def collection_from_store(data: dict[str, Any]) -> Collection:
    """A collection as saved by the store; trusted, so no merging rules apply."""
    collection = collection_from_json(data)
    collection.id = data["id"]
    collection.system = bool(data.get("system"))
    collection.created = data.get("created", "")
    collection.updated = data.get("updated", "")
    collection.indexes = list(data.get("indexes") or [])
    return collection
