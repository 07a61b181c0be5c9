"""Records of the auth system collections that point at one auth record.

``_mfas``, ``_otps`` and ``_authOrigins`` rows name their owner by
``collectionRef`` + ``recordRef`` (not a relation field, so one table serves
every auth collection). The MFA, OTP and login-alert services share these
helpers to make, find, age and delete them; when the owner is deleted, its
rows go too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from keelbase.core.dates import format_datetime, now, now_string, parse_datetime
from keelbase.core.ids import new_record_id
from keelbase.core.record import Record
from keelbase.services.records import RecordsService

MFAS = "_mfas"
OTPS = "_otps"
AUTH_ORIGINS = "_authOrigins"


def new_ref_record(records: RecordsService, name: str, owner: Record, **values: Any) -> Record:
    """An unsaved ``name`` record owned by ``owner``, with ``values`` set."""
    collection = records.collection(name)
    data = {f.name: f.empty() for f in collection.fields}
    stamp = now_string()
    data.update(
        id=new_record_id(),
        collectionRef=owner.collection.id,
        recordRef=owner.id,
        created=stamp,
        updated=stamp,
        **values,
    )
    return Record(collection, data)


def has_expired(record: Record, seconds: int) -> bool:
    """Whether ``record`` was created more than ``seconds`` ago (PocketBase's ``HasExpired``)."""
    created = parse_datetime(str(record.get("created", "")))
    return created is None or created + timedelta(seconds=seconds) < now()


async def find(records: RecordsService, name: str, record_id: str) -> Record | None:
    return await records.find_by_id(records.collection(name), record_id)


async def owned_by(records: RecordsService, name: str, owner: Record) -> list[Record]:
    """``owner``'s rows of ``name``, the most recently updated first."""
    collection = records.collection(name)
    q = records.store.dialect.quote
    async with records.store.read() as conn:
        rows = await conn.fetch_all(
            f"SELECT * FROM {q(name)} WHERE {q('collectionRef')} = :c AND {q('recordRef')} = :r "
            f"ORDER BY {q('updated')} DESC, {q('created')} DESC",
            {"c": owner.collection.id, "r": owner.id},
        )
    return [records.codec.from_row(collection, row) for row in rows]


async def delete(records: RecordsService, record: Record) -> bool:
    """Delete ``record`` (through the delete hooks); ``False`` if it was already gone."""
    async with records.store.transaction() as conn:
        q = records.store.dialect.quote
        still_there = await conn.fetch_value(
            f"SELECT 1 FROM {q(record.collection.name)} WHERE {q('id')} = :id", {"id": record.id}
        )
        if not still_there:
            return False
        await records.delete_record(conn, record)
    return True


async def delete_older_than(
    records: RecordsService, name: str, collection_id: str, seconds: int
) -> None:
    """Drop the rows of one auth collection in ``name`` created over ``seconds`` ago."""
    q = records.store.dialect.quote
    cutoff = format_datetime(now() - timedelta(seconds=seconds))
    async with records.store.transaction() as conn:
        await conn.execute(
            f"DELETE FROM {q(name)} WHERE {q('collectionRef')} = :c AND {q('created')} < :cutoff",
            {"c": collection_id, "cutoff": cutoff},
        )


OWNED_BY_AUTH_RECORDS = (MFAS, OTPS, AUTH_ORIGINS, "_externalAuths")


def drop_when_deleted(
    records: RecordsService,
) -> Callable[[str, Record], Awaitable[None] | None]:
    """A records listener: once an auth record is deleted, so are its rows here (as in PocketBase)."""

    def listener(action: str, record: Record) -> Awaitable[None] | None:
        if action != "delete" or not record.collection.is_auth:
            return None
        return drop_owned_by(records, record)

    return listener


async def drop_owned_by(records: RecordsService, owner: Record) -> None:
    q = records.store.dialect.quote
    async with records.store.transaction() as conn:
        for name in OWNED_BY_AUTH_RECORDS:
            if records.schema.get(name) is None:
                continue
            await conn.execute(
                f"DELETE FROM {q(name)} WHERE {q('collectionRef')} = :c AND {q('recordRef')} = :r",
                {"c": owner.collection.id, "r": owner.id},
            )
