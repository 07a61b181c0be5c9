"""Records between their three forms: a database row, a ``Record``, and client JSON.

The JSON a client gets depends on who asks: hidden fields only for superusers,
an auth record's email only to itself, to managers, to superusers, or when it
chose ``emailVisibility``. Keys are alphabetical, as PocketBase's are.

This runs for every record of every answer, so what depends only on the
collection (which fields need decoding, which keys a caller sees, in what
order) is worked out once per collection and kept on a ``_Plan``; the
``RecordCodec`` that keeps the plans is owned by the records service.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass
from typing import Any

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.schema import Schema
from keelbase.core.collections.schema_cache import SchemaCache
from keelbase.core.fields import (
    AutodateField,
    DateField,
    EditorField,
    EmailField,
    PasswordField,
    TextField,
    UrlField,
)
from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo

_NEVER_SHOWN = frozenset({"password", "tokenKey"})
# Stored as TEXT NOT NULL and returned as stored: no decoding needed.
_PLAIN_TEXT = (
    TextField,
    EditorField,
    EmailField,
    UrlField,
    DateField,
    AutodateField,
    PasswordField,
)


@dataclass(frozen=True)
class _Plan:
    plain: tuple[str, ...]
    decoded: tuple[tuple[str, Callable[[Any], Any]], ...]
    public_keys: tuple[str, ...]  # what everyone sees, in output order
    superuser_keys: tuple[str, ...]  # hidden fields included


def _make_plan(collection: Collection) -> _Plan:
    plain = tuple(f.name for f in collection.fields if isinstance(f, _PLAIN_TEXT))
    decoded = tuple(
        (f.name, f.from_db) for f in collection.fields if not isinstance(f, _PLAIN_TEXT)
    )
    shown = [
        f
        for f in collection.fields
        if f.type != "password" and not (collection.is_auth and f.name in _NEVER_SHOWN)
    ]
    meta = ["collectionId", "collectionName"]
    public_keys = tuple(sorted([*meta, *(f.name for f in shown if not f.hidden)]))
    superuser_keys = tuple(sorted([*meta, *(f.name for f in shown)]))
    return _Plan(plain, decoded, public_keys, superuser_keys)


class RecordCodec:
    """Rows to records and records to client JSON, with a plan per collection.

    Given the current schema, plans are kept in a ``SchemaCache`` (keyed by
    schema version and collection id; a schema change drops them all). Without
    one (collections read straight from a store, as an export does), each call
    works its plan out afresh.
    """

    def __init__(self, schema: Callable[[], Schema] | None = None) -> None:
        self._plans: SchemaCache[str, _Plan] | None = (
            SchemaCache(schema) if schema is not None else None
        )

    def _plan(self, collection: Collection) -> _Plan:
        if self._plans is None:
            return _make_plan(collection)
        return self._plans.get_or_make(collection, "plan", lambda: _make_plan(collection))

    def from_row(self, collection: Collection, row: dict[str, Any]) -> Record:
        return self.from_rows(collection, [row])[0]

    def from_rows(self, collection: Collection, rows: list[dict[str, Any]]) -> list[Record]:
        plan = self._plan(collection)
        plain, decoded = plan.plain, plan.decoded
        records: list[Record] = []
        for row in rows:
            get = row.get
            data = {name: "" if (value := get(name)) is None else value for name in plain}
            for name, decode in decoded:
                data[name] = decode(get(name))
            records.append(Record(collection, data))
        return records

    def export_all(
        self,
        records: list[Record],
        info: RequestInfo | None,
        shown_emails: Set[str] = frozenset(),
    ) -> list[dict[str, Any]]:
        """``export`` for a list of records of one collection, with the plan looked up once."""
        if not records:
            return []
        collection = records[0].collection
        superuser = info is not None and info.is_superuser
        plan = self._plan(collection)
        keys = plan.superuser_keys if superuser else plan.public_keys
        meta = {"collectionId": collection.id, "collectionName": collection.name}
        if collection.is_auth or any(r.expand is not None for r in records):
            return [self.export(r, info, show_email=r.id in shown_emails) for r in records]
        out: list[dict[str, Any]] = []
        for record in records:
            merged = {**record.data, **meta}
            out.append({key: merged.get(key, "") for key in keys})
        return out

    def export(
        self,
        record: Record,
        info: RequestInfo | None,
        *,
        show_email: bool = False,
    ) -> dict[str, Any]:
        """The client's view of ``record``; ``show_email`` when the caller may see it regardless."""
        collection = record.collection
        superuser = info is not None and info.is_superuser
        plan = self._plan(collection)
        merged = {**record.data, "collectionId": collection.id, "collectionName": collection.name}
        keys = plan.superuser_keys if superuser else plan.public_keys
        out = {key: merged.get(key, "") for key in keys}
        if collection.is_auth and "email" in out:
            is_self = (
                info is not None
                and info.auth is not None
                and info.auth.id == record.id
                and info.auth.collection.id == collection.id
            )
            visible = bool(record.data.get("emailVisibility")) or superuser or is_self or show_email
            if not visible:
                del out["email"]
        if record.expand is not None:
            out["expand"] = {
                key: [self.export(v, info) for v in value]
                if isinstance(value, list)
                else self.export(value, info)
                for key, value in record.expand.items()
            }
            return dict(sorted(out.items()))
        return out


def to_params(collection: Collection, data: dict[str, Any]) -> dict[str, Any]:
    """Values ready to bind, for the fields present in ``data``."""
    out: dict[str, Any] = {}
    for field in collection.fields:
        if field.name in data:
            out[field.name] = field.to_db(data[field.name])
    return out
