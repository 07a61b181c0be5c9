"""Records of the auth system collections that point at one auth record.

``_mfas``, ``_otps`` and ``_authOrigins`` rows name their owner by
``collectionRef`` + ``recordRef`` (not a relation field, so one table serves
every auth collection). The MFA, OTP and login-alert services share these
helpers to make, find, age and delete them; when the owner is deleted, its
rows go too, in the same transaction and through the delete hooks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from keelbase.core.dates import format_datetime, now, now_string, parse_datetime
from keelbase.core.ids import new_record_id
from keelbase.core.records.record import Record
from keelbase.services.records.service import DeleteListener, RecordsService
from keelbase.store.base import Connection

MFAS = "_mfas"
OTPS = "_otps"
AUTH_ORIGINS = "_authOrigins"
EXTERNAL_AUTHS = "_externalAuths"


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


async def owned_by(
    records: RecordsService, name: str, owner: Record, conn: Connection | None = None
) -> list[Record]:
    """``owner``'s rows of ``name``, the most recently updated first."""
    return await records.find_by_filter(
        records.collection(name),
        "collectionRef = {:c} && recordRef = {:r}",
        {"c": owner.collection.id, "r": owner.id},
        sort="-updated,-created",
        conn=conn,
    )


async def delete(records: RecordsService, record: Record) -> bool:
    """Delete ``record`` (through the delete hooks); ``False`` if it was already gone.

    Deleting is how an OTP or an MFA session is claimed, so the row is locked
    first: a concurrent claim waits for this one to commit, then finds nothing.
    """
    async with records.transaction() as conn:
        if await records.find_locked(conn, record.collection, record.id) is None:
            return False
        await records.delete_record(conn, record)
    return True


async def delete_older_than(
    records: RecordsService, name: str, collection_id: str, seconds: int
) -> None:
    """Delete the rows of one auth collection in ``name`` created over ``seconds`` ago.

    Each goes through the delete hooks, as PocketBase's cleanup of expired OTPs
    and MFA sessions deletes them through the app.
    """
    cutoff = format_datetime(now() - timedelta(seconds=seconds))
    collection = records.collection(name)
    async with records.transaction() as conn:
        expired = await records.find_by_filter(
            collection,
            "collectionRef = {:c} && created < {:cutoff}",
            {"c": collection_id, "cutoff": cutoff},
            conn=conn,
        )
        for record in expired:
            await records.delete_record(conn, record)


OWNED_BY_AUTH_RECORDS = (MFAS, OTPS, AUTH_ORIGINS, EXTERNAL_AUTHS)


def drop_when_deleted(records: RecordsService) -> DeleteListener:
    """A delete listener: an auth record's rows here go in the transaction that deletes it.

    As PocketBase's ``recordRefHooks`` do, each row is deleted as a record (so
    the delete hooks of ``_externalAuths`` and the others run, and one that
    refuses keeps the owner too), never by a bare ``DELETE``.
    """

    async def listener(conn: Connection, owner: Record, depth: int) -> None:
        if not owner.collection.is_auth:
            return
        for name in OWNED_BY_AUTH_RECORDS:
            if records.schema.get(name) is None:
                continue
            for record in await owned_by(records, name, owner, conn):
                await records.delete_record(conn, record, depth + 1)

    return listener
