"""Checks a collection definition against itself and the rest of the schema.

Answers are PocketBase's field errors, keyed the way it keys them (fields by
their position, indexes by theirs). What needs the database (a view's query,
an index that SQL refuses) is checked by the service when it runs the DDL.
"""

from __future__ import annotations

import re
from typing import Any

from keelbase.core.auth.factors import check_factor_options
from keelbase.core.auth.oauth2 import oauth2_errors
from keelbase.core.collections.collection import AUTH, RULES, VIEW, Collection
from keelbase.core.collections.indexes import column_name, parse_index
from keelbase.core.collections.schema import Schema
from keelbase.core.collections.search import search_fields_error
from keelbase.core.dialect import Dialect
from keelbase.core.fields import (
    FIELD_TYPES,
    EditorField,
    EmailField,
    RelationField,
    SelectField,
    TextField,
    UrlField,
    VectorField,
)
from keelbase.core.fields.base import FIELD_NAME, RESERVED_NAMES
from keelbase.core.filter import FilterError, parse
from keelbase.core.filter.compiler import compile_filter
from keelbase.core.records.resolver import RecordResolver
from keelbase.errors import field_error, required_error

# Fields whose values a vector field may embed (``embedFrom``).
EMBEDDABLE = (TextField, EditorField, EmailField, UrlField, SelectField)

INTERNAL_TABLES = frozenset(
    {
        "_collections",
        "_params",
        "_migrations",
        "_kbChanges",
        "_kbChangesPruned",
        "_kbRowCounts",  # PostgreSQL: the tables' row counts (store/postgres_counts.py)
        "sqlite_master",
        "sqlite_sequence",
    }
)
ID_PATTERN = re.compile(r"^\w+$", re.ASCII)
AUTH_RESERVED = frozenset({"passwordconfirm", "oldpassword"})


def validate_collection(
    new: Collection, old: Collection | None, schema: Schema, dialect: Dialect
) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    _check_id(new, old, schema, errors)
    _check_name(new, old, schema, errors)
    if old is not None and old.type != new.type:
        errors["type"] = field_error(
            "validation_collection_type_change", "Collection type cannot be changed."
        )
    if new.type != VIEW:
        field_errors = _check_fields(new, old, schema)
        if field_errors:
            errors["fields"] = field_errors
    index_errors = _check_indexes(new, schema)
    if index_errors:
        errors["indexes"] = index_errors
    _check_rules(new, schema, dialect, errors)
    search_errors = search_fields_error(new)
    if search_errors:
        errors["search"] = search_errors
    if new.type == AUTH:
        _check_auth(new, errors)
        assert new.auth is not None
        trial = schema.replaced([c for c in schema if c.id != new.id] + [new])
        check_factor_options(new.auth, lambda rule: rule_error(rule, new, trial, dialect), errors)
    return errors


def _check_id(
    new: Collection, old: Collection | None, schema: Schema, errors: dict[str, Any]
) -> None:
    if old is not None:
        return
    if not new.id or len(new.id) > 100 or not ID_PATTERN.match(new.id) or schema.by_id(new.id):
        errors["id"] = field_error(
            "validation_invalid_or_existing_id", "The model id is invalid or already exists."
        )


def _check_name(
    new: Collection, old: Collection | None, schema: Schema, errors: dict[str, Any]
) -> None:
    name = new.name
    if not name:
        errors["name"] = required_error()
        return
    if len(name) > 255:
        errors["name"] = field_error(
            "validation_length_too_long", "The length must be no more than 255.", {"max": 255}
        )
        return
    if "_via_" in name.lower():  # before the format, in PocketBase's order
        errors["name"] = field_error("validation_found_via", 'The value cannot contain "_via_".')
        return
    if not FIELD_NAME.match(name):
        errors["name"] = field_error("validation_match_invalid", "Must be in a valid format.")
        return
    if old is not None and old.system and old.name != name:
        errors["name"] = field_error(
            "validation_collection_system_name_change", "System collection name cannot be changed."
        )
        return
    for other in schema:
        if other.id == new.id:
            continue
        if other.name.lower() == name.lower():
            errors["name"] = field_error(
                "validation_collection_name_exists",
                "Collection name must be unique (case insensitive).",
            )
            return
        if other.id.lower() == name.lower():
            errors["name"] = field_error(
                "validation_collection_name_id_duplicate",
                "The name must not match an existing collection id.",
            )
            return
    if name.lower() in {t.lower() for t in INTERNAL_TABLES} or name.lower().startswith("sqlite_"):
        errors["name"] = field_error(
            "validation_collection_name_invalid",
            "The name shouldn't match with an existing internal table.",
        )


def _check_fields(new: Collection, old: Collection | None, schema: Schema) -> dict[str, Any] | None:
    if not any(isinstance(f, TextField) and f.primaryKey and f.name == "id" for f in new.fields):
        return field_error("validation_missing_primary_key", 'Missing or invalid "id" PK field.')
    old_fields = {f.id: f for f in old.fields} if old else {}
    # As PocketBase's ensureNoSystemFieldsChange and ensureNoFieldsTypeChange: these
    # answer for the fields before any field's own checks.
    new_ids = {f.id for f in new.fields}
    renamed = any(
        (previous := old_fields.get(f.id)) is not None
        and previous.system
        and previous.name != f.name
        for f in new.fields
    )
    if renamed or any(f.system and f.id not in new_ids for f in old_fields.values()):
        return field_error(
            "validation_system_field_change", "System fields cannot be deleted or renamed."
        )
    type_changes = {
        str(index): field_error("validation_field_type_change", "Field type cannot be changed.")
        for index, field in enumerate(new.fields)
        if field.id in old_fields and old_fields[field.id].type != field.type
    }
    if type_changes:
        return type_changes
    errors: dict[str, Any] = {}
    seen_names: set[str] = set()
    for index, field in enumerate(new.fields):
        problems: dict[str, Any] = {}
        name = field.name
        if not name:
            problems["name"] = required_error()
        elif len(name) > 100:
            problems["name"] = field_error(
                "validation_length_too_long", "The length must be no more than 100.", {"max": 100}
            )
        elif not FIELD_NAME.match(name):
            problems["name"] = field_error("validation_match_invalid", "Must be in a valid format.")
        elif name.lower() in RESERVED_NAMES or (new.type == AUTH and name.lower() in AUTH_RESERVED):
            problems["name"] = field_error("validation_not_in_invalid", "Must not be in list.")
        elif "_via_" in name.lower():
            problems["name"] = field_error(
                "validation_found_via", 'The value cannot contain "_via_".'
            )
        elif name.lower() in seen_names:
            problems["name"] = field_error(
                "validation_duplicated_field_name",
                f"Duplicated or invalid field name {name}.",
                {"fieldName": name},
            )
        seen_names.add(name.lower())
        previous = old_fields.get(field.id)
        if field.type not in FIELD_TYPES:
            problems["type"] = field_error("validation_in_invalid", "Must be a valid value.")
        problems.update({k: v for k, v in field.definition_errors().items() if k not in problems})
        if isinstance(field, VectorField) and field.embedFrom and "embedFrom" not in problems:
            sources = {f.name: f for f in new.fields}
            if len(field.embedFrom) > 10 or any(
                not isinstance(sources.get(name), EMBEDDABLE) for name in field.embedFrom
            ):
                problems["embedFrom"] = field_error(
                    "validation_invalid_embed_from",
                    "Must name up to 10 text, editor, email, url or select fields of the collection.",
                )
        if (
            isinstance(field, RelationField)
            and field.collectionId
            and "collectionId" not in problems
        ):
            target = schema.by_id(field.collectionId)
            if target is None and field.collectionId != new.id:
                problems["collectionId"] = field_error(
                    "validation_field_relation_missing_collection",
                    "The relation collection doesn't exist.",
                )
            elif (
                isinstance(previous, RelationField) and previous.collectionId != field.collectionId
            ):
                problems["collectionId"] = field_error(
                    "validation_field_relation_change", "The relation collection cannot be changed."
                )
            elif target is not None and target.type == VIEW and new.type != VIEW:
                problems["collectionId"] = field_error(
                    "validation_relation_field_non_view_base_collection",
                    "Only view collections are allowed to have relations to other views.",
                )
        if problems:
            errors[str(index)] = problems
    return errors or None


def _check_indexes(new: Collection, schema: Schema) -> dict[str, Any] | None:
    if new.type == VIEW:
        if new.indexes:
            return field_error(
                "validation_indexes_not_supported", "View collections don't support indexes."
            )
        return None
    errors: dict[str, Any] = {}
    names: set[str] = set()
    definitions: set[str] = set()
    other_indexes: dict[str, str] = {}
    for other in schema:
        if other.id == new.id:
            continue
        for sql in other.indexes:
            parsed = parse_index(sql)
            if parsed:
                other_indexes[parsed.name.lower()] = other.name
    field_names = {f.name for f in new.fields}
    for position, sql in enumerate(new.indexes):
        index = parse_index(sql)
        if index is None:
            errors[str(position)] = field_error(
                "validation_invalid_index_expression", "Invalid CREATE INDEX expression."
            )
            continue
        key = index.name.lower()
        definition = (index.unique, index.columns, index.where)
        if key in names:
            errors[str(position)] = field_error(
                "validation_duplicated_index_name", "The index name already exists."
            )
        elif key in other_indexes:
            errors[str(position)] = field_error(
                "validation_existing_index_name",
                f"The index name is already used in {other_indexes[key]} collection.",
                {"usedTableName": other_indexes[key]},
            )
        elif repr(definition) in definitions:
            errors[str(position)] = field_error(
                "validation_duplicated_index_definition", "The index definition already exists."
            )
        elif not all(_index_column_ok(c, field_names) for c in index.columns):
            errors[str(position)] = field_error(
                "validation_invalid_index_expression",
                f"Failed to create index {index.name} - no such column.",
            )
        names.add(key)
        definitions.add(repr(definition))
    return errors or None


def _index_column_ok(column: str, field_names: set[str]) -> bool:
    """Plain column references must name a field; expressions are left to SQL to judge."""
    name = column_name(column)
    if not name or not FIELD_NAME.match(name):
        return True
    return name in field_names


def _check_rules(new: Collection, schema: Schema, dialect: Dialect, errors: dict[str, Any]) -> None:
    names = list(RULES)
    if new.type == AUTH:
        names += ["authRule", "manageRule"]
    # Rules may name the collection itself, so resolve against a schema that includes it.
    trial = schema.replaced([c for c in schema if c.id != new.id] + [new])
    for rule_name in names:
        rule = new.rule(rule_name)
        if rule_name == "manageRule" and rule == "":
            errors[rule_name] = field_error(
                "validation_nil_or_not_empty_required", "Cannot be blank."
            )
            continue
        if not rule:
            continue
        problem = rule_error(rule, new, trial, dialect)
        if problem:
            errors[rule_name] = field_error(
                "validation_invalid_rule", f"Invalid rule. Raw error: {problem}."
            )


def rule_error(rule: str, collection: Collection, schema: Schema, dialect: Dialect) -> str | None:
    """Why ``rule`` cannot be compiled for ``collection``, or ``None``."""
    try:
        expr = parse(rule)
        if expr is None:
            return None
        compile_filter(expr, RecordResolver(schema, collection, dialect, None))
    except FilterError as error:
        return str(error).rstrip(".")
    return None


def _check_auth(new: Collection, errors: dict[str, Any]) -> None:
    assert new.auth is not None
    options = new.auth
    unique_columns: set[str] = set()
    for sql in new.indexes:
        index = parse_index(sql)
        if (
            index
            and index.unique
            and len(index.columns) == 1
            and not index.where.strip().startswith("0")
        ):
            unique_columns.add(column_name(index.columns[0]))
    identity_errors: dict[str, Any] = {}
    for position, name in enumerate(options.passwordAuth.identityFields):
        if new.field(name) is None or name not in unique_columns:
            identity_errors[str(position)] = field_error(
                "validation_missing_unique_constraint",
                f"The field {name} doesn't have a UNIQUE constraint.",
                {"fieldName": name},
            )
    if identity_errors:
        errors["passwordAuth"] = {"identityFields": identity_errors}
    if oauth2 := oauth2_errors(options):
        errors["oauth2"] = oauth2
    for key in (
        "authToken",
        "passwordResetToken",
        "emailChangeToken",
        "verificationToken",
        "fileToken",
    ):
        duration = getattr(options, key).duration
        if not 10 <= duration <= 94670856:
            errors[key] = {
                "duration": field_error(
                    "validation_min_greater_equal_than_required"
                    if duration < 10
                    else "validation_max_less_equal_than_required",
                    "Must be no less than 10."
                    if duration < 10
                    else "Must be no greater than 94670856.",
                )
            }
