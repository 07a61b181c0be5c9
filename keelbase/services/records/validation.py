"""Checking a record before it is written, and the values the server sets on it.

Field values against their types' rules, uploads against the file fields,
relations against the rows they name, a new auth record's id against every
auth collection, and an auth record's password and email changes against who
asks (its owner, or a manager who may skip the old password).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from keelbase.adapters import embeddings
from keelbase.core.collections.collection import Collection
from keelbase.core.collections.schema import Schema
from keelbase.core.dates import format_datetime, now, parse_datetime
from keelbase.core.dialect import Dialect
from keelbase.core.fields import (
    AutodateField,
    FieldInvalid,
    FileField,
    PasswordField,
    RelationField,
    TextField,
    VectorField,
)
from keelbase.core.fields.relation import MISSING_RECORDS
from keelbase.core.fields.vector import shown
from keelbase.core.records.record import Record
from keelbase.errors import (
    CODE_NOT_UNIQUE,
    CODE_REQUIRED,
    CODE_VALUES_MISMATCH,
    MSG_REQUIRED,
    ApiError,
    BadRequestError,
    field_error,
    required_error,
)
from keelbase.services.auth.ids import auth_id_errors
from keelbase.services.auth.passwords import (
    constant_time_equal,
    hash_password_async,
    verify_password_async,
)
from keelbase.services.files.service import check_upload
from keelbase.services.records.input import ResolvedInput
from keelbase.store.base import Connection, UniqueViolation

MSG_CREATE_FAILED = "Failed to create record."
MSG_UPDATE_FAILED = "Failed to update record."


def mismatch_error() -> dict[str, Any]:
    return field_error(CODE_VALUES_MISMATCH, "Values don't match.")


class RecordValidator:
    """Checks a record against its fields and the store: values, files, relations, ids."""

    def __init__(self, schema: Callable[[], Schema], dialect: Dialect) -> None:
        self._schema = schema
        self._dialect = dialect

    async def validate(
        self,
        conn: Connection,
        record: Record,
        resolved: ResolvedInput,
        message: str,
        new: bool,
        existing: Record | None = None,
    ) -> None:
        errors: dict[str, Any] = {}
        collection = record.collection
        for field in collection.fields:
            try:
                if isinstance(field, FileField) and field.name in resolved.changed:
                    kept = set(field.as_list(existing.get(field.name))) if existing else set()
                    for pending in resolved.files.new:
                        if pending.field == field.name:
                            check_upload(field, pending)
                            kept.add(pending.name)
                    unknown = [n for n in field.as_list(record.get(field.name)) if n not in kept]
                    if unknown:
                        # New files come only as uploads; a name must be one the record has.
                        raise FieldInvalid(
                            "validation_invalid_file",
                            f"Invalid new files: [{' '.join(unknown)}].",
                            {"invalidFiles": unknown},
                        )
                if isinstance(field, PasswordField):
                    plain = resolved.passwords.get(field.name)
                    if plain:
                        field.validate_plain(plain)
                    elif field.required and not record.get(field.name):
                        raise FieldInvalid(CODE_REQUIRED, MSG_REQUIRED)
                    continue
                if isinstance(field, AutodateField):
                    continue
                if (
                    isinstance(field, TextField)
                    and field.name == "tokenKey"
                    and not record.get("tokenKey")
                ):
                    continue  # generated below
                field.check(record.get(field.name, field.empty()))
            except FieldInvalid as error:
                errors[field.name] = error.to_json()
        for field in collection.relation_fields():
            if field.name in errors:
                continue
            ids = field.as_list(record.get(field.name))
            # Only the references this write adds are held against deletion: one already
            # stored is the deleter's to remove (it locks this record), and holding it too
            # would make the two wait for each other.
            stored = set(field.as_list(existing.get(field.name))) if existing else set()
            added = [i for i in ids if i not in stored]
            if ids and not await self._relations_exist(conn, field, ids, added):
                errors[field.name] = field_error(*MISSING_RECORDS)
        if errors:
            raise BadRequestError(message, errors)

    async def check_auth_id(self, conn: Connection, record: Record) -> None:
        """A new auth record may not take an id another auth collection has (PocketBase)."""
        errors = await auth_id_errors(conn, self._schema(), self._dialect.quote, record)
        if errors:
            raise BadRequestError(MSG_CREATE_FAILED, errors)

    async def _relations_exist(
        self, conn: Connection, field: RelationField, ids: list[str], added: list[str]
    ) -> bool:
        """Whether every id exists; the ``added`` ones stay locked against deletion until
        the commit, so a target deleted meanwhile waits, then sees the new reference."""
        target = self._schema().by_id(field.collectionId)
        if target is None:
            return False
        q = self._dialect.quote
        kept = [i for i in dict.fromkeys(ids) if i not in added]
        found = 0
        for chunk, lock in ((kept, False), (list(dict.fromkeys(added)), not target.is_view)):
            if not chunk:
                continue
            placeholders = ", ".join(f":r{i}" for i in range(len(chunk)))
            select = f"SELECT {q('id')} FROM {q(target.name)} WHERE {q('id')} IN ({placeholders})"
            if lock:
                select = self._dialect.share_rows(select)
            params = {f"r{i}": value for i, value in enumerate(chunk)}
            found += len(await conn.fetch_all(select, params))
        return found == len(set(ids))


def auth_create_errors(record: Record, resolved: ResolvedInput, manager: bool) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    password = resolved.passwords.get("password", "")
    confirm = resolved.passwords.get("passwordConfirm")
    if not password:
        errors["password"] = required_error()
    if not confirm:
        errors["passwordConfirm"] = required_error()
    elif password and not constant_time_equal(password, confirm):
        errors["passwordConfirm"] = mismatch_error()
    if not manager and record.get("verified"):
        errors["verified"] = mismatch_error()
    return errors


async def auth_update_errors(
    existing: Record, record: Record, resolved: ResolvedInput, manager: bool
) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    passwords = resolved.passwords
    password = passwords.get("password")
    wants_change = (
        "password" in passwords or "passwordConfirm" in passwords or "oldPassword" in passwords
    )
    if wants_change:
        if not password:
            errors["password"] = required_error()
        confirm = passwords.get("passwordConfirm")
        if not confirm:
            errors["passwordConfirm"] = required_error()
        elif password and not constant_time_equal(password, confirm):
            errors["passwordConfirm"] = mismatch_error()
        if not manager:
            old = passwords.get("oldPassword", "")
            if not old:
                errors["oldPassword"] = required_error()
            elif not await verify_password_async(old, existing.get("password")):
                errors["oldPassword"] = {
                    "code": "validation_invalid_old_password",
                    "message": "Missing or invalid old password.",
                }
    if not manager:
        if record.get("email") != existing.get("email"):
            errors["email"] = mismatch_error()
        if bool(record.get("verified")) != bool(existing.get("verified")):
            errors["verified"] = mismatch_error()
    return errors


async def finish_fields(
    record: Record, resolved: ResolvedInput, new: bool, previous: Record | None = None
) -> None:
    """Server-set values: hashes, tokenKey, autodates.

    An update's autodates (``previous`` the record it replaces) come after the values
    they replace, by a millisecond at least: ``updated`` is the version ``If-Match``
    compares, so two writes in one millisecond (or by a node whose clock is behind)
    never share one, and a client holding the earlier gets its 409.
    """
    collection = record.collection
    at = now()
    for field in collection.fields:
        if isinstance(field, PasswordField):
            plain = resolved.passwords.get(field.name)
            if plain:
                record.data[field.name] = await hash_password_async(plain)
                if collection.is_auth and field.name == "password" and not new:
                    record.data["tokenKey"] = ""  # rotated below: ends every earlier token
        elif isinstance(field, AutodateField) and (
            (new and field.onCreate) or (not new and field.onUpdate)
        ):
            record.data[field.name] = format_datetime(update_time(at, previous, field.name))
    token_key = collection.field("tokenKey")
    if collection.is_auth and isinstance(token_key, TextField) and not record.get("tokenKey"):
        record.data["tokenKey"] = token_key.generate()
    await _embed_texts(record, resolved, new)


def update_time(at: datetime, previous: Record | None, name: str) -> datetime:
    """``at``, or a millisecond after ``previous``'s value of ``name`` when that is not earlier."""
    before = previous.get(name) if previous is not None else None
    last = parse_datetime(before) if isinstance(before, str) and before else None
    if last is None or at.replace(microsecond=at.microsecond // 1000 * 1000) > last:
        return at
    try:
        return last + timedelta(milliseconds=1)
    except OverflowError:  # the year 9999's last millisecond
        return at


async def _embed_texts(record: Record, resolved: ResolvedInput, new: bool) -> None:
    """Vector fields with ``embedFrom``: the embedding of their source texts, computed
    when the record is created or a source changes, unless the client sent the vector.

    Off the event loop: a text takes about a millisecond, a first use loads the model.
    """
    for field in record.collection.fields:
        if not isinstance(field, VectorField) or not field.embedFrom:
            continue
        if field.name in resolved.submitted:
            continue  # the client's own vector wins
        if not new and not any(name in resolved.changed for name in field.embedFrom):
            continue
        text = "\n".join(_text(record.data.get(name)) for name in field.embedFrom).strip()
        if not text:
            record.data[field.name] = []
            continue
        rows = await asyncio.to_thread(embeddings.embed, [text], field.dimensions)
        record.data[field.name] = shown(rows[0])


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def unique_error(collection: Collection, error: UniqueViolation, message: str) -> ApiError:
    data = {
        column: field_error(CODE_NOT_UNIQUE, "Value must be unique.")
        for column in error.columns
        if collection.field(column) is not None
    }
    return BadRequestError(message, data)
