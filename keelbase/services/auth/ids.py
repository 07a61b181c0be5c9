"""An auth record's id is unique across every auth collection, as PocketBase checks it.

Rules often compare ids (``@request.auth.id = owner``); if a ``users`` record
and a ``managers`` record could share an id, a mistake in a rule that forgets
to check the collection would let one act as the other. PocketBase therefore
refuses to save an auth record whose id another auth collection already has
(core/record_model.go, ``onRecordSaveExecute``): ``validation_invalid_auth_id``.

Like PocketBase's, the check is a loose one (a read in the saving transaction,
not a constraint): two creates racing on PostgreSQL could both pass, and data
that arrives by import is not checked. Code that keys anything by an auth
record must still use its collection and id (``Record.identity``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keelbase.core.collections.schema import Schema
from keelbase.core.records.record import Record
from keelbase.errors import field_error
from keelbase.store.base import Connection

CODE_INVALID_AUTH_ID = "validation_invalid_auth_id"
MSG_INVALID_AUTH_ID = "Invalid or duplicated auth record id."


async def auth_id_errors(
    conn: Connection, schema: Schema, quote: Callable[[str], str], record: Record
) -> dict[str, Any]:
    """``{"id": error}`` when another auth collection has ``record``'s id, else nothing.

    ``quote`` is the store dialect's identifier quoting. The record's own
    collection is left to its primary key, which reports a clash as not unique.
    """
    if not record.collection.is_auth or not record.id:
        return {}
    others = [c for c in schema if c.is_auth and c.id != record.collection.id]
    if not others:
        return {}
    sql = " UNION ALL ".join(
        f"SELECT 1 FROM {quote(c.name)} WHERE {quote('id')} = :id" for c in others
    )
    taken = await conn.fetch_value(f"SELECT 1 FROM ({sql}) AS __kb_ids LIMIT 1", {"id": record.id})
    if taken is None:
        return {}
    return {"id": field_error(CODE_INVALID_AUTH_ID, MSG_INVALID_AUTH_ID)}
