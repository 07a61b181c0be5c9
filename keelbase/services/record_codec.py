"""Records between their three forms: a database row, a ``Record``, and client JSON.

The JSON a client gets depends on who asks: hidden fields only for superusers,
an auth record's email only to itself, to managers, to superusers, or when it
chose ``emailVisibility``. Keys are alphabetical, as PocketBase's are.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.collection import Collection
from keelbase.core.record import Record
from keelbase.core.request_info import RequestInfo

_NEVER_SHOWN = frozenset({"password", "tokenKey"})


def from_row(collection: Collection, row: dict[str, Any]) -> Record:
    data = {f.name: f.from_db(row.get(f.name)) for f in collection.fields}
    return Record(collection, data)


def to_params(collection: Collection, data: dict[str, Any]) -> dict[str, Any]:
    """Values ready to bind, for the fields present in ``data``."""
    out: dict[str, Any] = {}
    for field in collection.fields:
        if field.name in data:
            out[field.name] = field.to_db(data[field.name])
    return out


def export(
    record: Record,
    info: RequestInfo | None,
    *,
    show_email: bool = False,
) -> dict[str, Any]:
    """The client's view of ``record``; ``show_email`` when the caller may see it regardless."""
    collection = record.collection
    superuser = info is not None and info.is_superuser
    out: dict[str, Any] = {
        "collectionId": collection.id,
        "collectionName": collection.name,
    }
    data = record.data
    for field in collection.fields:
        name = field.name
        if field.hidden and not superuser:
            continue
        if collection.is_auth and name in _NEVER_SHOWN:
            continue
        if field.type == "password":
            continue
        out[name] = data.get(name, field.empty())
    if collection.is_auth and "email" in out:
        is_self = (
            info is not None
            and info.auth is not None
            and info.auth.id == record.id
            and info.auth.collection.id == collection.id
        )
        visible = bool(data.get("emailVisibility")) or superuser or is_self or show_email
        if not visible:
            del out["email"]
    if record.expand is not None:
        out["expand"] = {
            key: [export(v, info) for v in value]
            if isinstance(value, list)
            else export(value, info)
            for key, value in record.expand.items()
        }
    return dict(sorted(out.items()))
