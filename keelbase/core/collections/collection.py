"""A collection: its type, fields, indexes, rules and (for auth) options.

The JSON form is PocketBase's, keys in its order. Building a ``Collection``
from JSON checks only shapes; whether the definition makes sense against the
rest of the schema is ``collection_validation``'s job.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from keelbase.core.auth.options import AuthOptions
from keelbase.core.fields import (
    AutodateField,
    BoolField,
    EmailField,
    Field,
    PasswordField,
    RelationField,
    TextField,
)

BASE = "base"
AUTH = "auth"
VIEW = "view"
TYPES = (BASE, AUTH, VIEW)
RULES = ("listRule", "viewRule", "createRule", "updateRule", "deleteRule")
AUTH_SYSTEM_FIELDS = ("password", "tokenKey", "email", "emailVisibility", "verified")


def default_collection_id(collection_type: str, name: str) -> str:
    """PocketBase's id for a new collection: ``pbc_`` + crc32(type + name)."""
    return f"pbc_{zlib.crc32((collection_type + name).encode())}"


def id_field() -> TextField:
    return TextField(
        id="text3208210256",
        name="id",
        system=True,
        primaryKey=True,
        required=True,
        min=15,
        max=15,
        pattern="^[a-z0-9]+$",
        autogeneratePattern="[a-z0-9]{15}",
    )


def auth_system_fields() -> list[Field]:
    return [
        PasswordField(
            id="password901924565", name="password", system=True, hidden=True, required=True, min=8
        ),
        TextField(
            id="text2504183744",
            name="tokenKey",
            system=True,
            hidden=True,
            required=True,
            min=30,
            max=60,
            autogeneratePattern="[a-zA-Z0-9]{50}",
        ),
        EmailField(id="email3885137012", name="email", system=True, required=True),
        BoolField(id="bool1547992806", name="emailVisibility", system=True),
        BoolField(id="bool256245529", name="verified", system=True),
    ]


def timestamp_fields(system: bool = False) -> list[Field]:
    return [
        AutodateField(id="autodate2990389176", name="created", system=system, onCreate=True),
        AutodateField(
            id="autodate3332085495", name="updated", system=system, onCreate=True, onUpdate=True
        ),
    ]


def auth_indexes(collection_id: str, name: str) -> list[str]:
    return [
        f"CREATE UNIQUE INDEX `idx_tokenKey_{collection_id}` ON `{name}` (`tokenKey`)",
        f"CREATE UNIQUE INDEX `idx_email_{collection_id}` ON `{name}` (`email`) WHERE `email` != ''",
    ]


@dataclass
class Collection:
    id: str
    name: str
    type: str = BASE
    system: bool = False
    fields: list[Field] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    listRule: str | None = None
    viewRule: str | None = None
    createRule: str | None = None
    updateRule: str | None = None
    deleteRule: str | None = None
    viewQuery: str = ""
    auth: AuthOptions | None = None
    # Our addition: the text fields kept in a full-text index (``search`` in JSON,
    # a key PocketBase ignores; see docs/search.md).
    search: list[str] = field(default_factory=list)
    created: str = ""
    updated: str = ""

    def __post_init__(self) -> None:
        self._by_name: dict[str, Field] = {}
        self.reindex()

    def reindex(self) -> None:
        """Refresh the name lookup after ``fields`` changed."""
        self._by_name = {f.name: f for f in self.fields}

    @property
    def is_auth(self) -> bool:
        return self.type == AUTH

    @property
    def is_view(self) -> bool:
        return self.type == VIEW

    def field(self, name: str) -> Field | None:
        return self._by_name.get(name)

    def rule(self, name: str) -> str | None:
        if name in ("authRule", "manageRule"):
            return getattr(self.auth, name) if self.auth else None
        value: str | None = getattr(self, name)
        return value

    def relation_fields(self) -> list[RelationField]:
        return [f for f in self.fields if isinstance(f, RelationField)]

    def to_json(self, with_secrets: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "listRule": self.listRule,
            "viewRule": self.viewRule,
            "createRule": self.createRule,
            "updateRule": self.updateRule,
            "deleteRule": self.deleteRule,
            "name": self.name,
            "type": self.type,
            "fields": [f.to_json() for f in self.fields],
            "indexes": list(self.indexes),
            "created": self.created,
            "updated": self.updated,
            "system": self.system,
        }
        if self.is_view:
            out["viewQuery"] = self.viewQuery
        if self.auth is not None:
            out.update(self.auth.to_json(with_secrets=with_secrets))
        if self.search:
            out["search"] = {"fields": list(self.search)}
        return out

    def copy(self) -> Collection:
        return Collection(
            id=self.id,
            name=self.name,
            type=self.type,
            system=self.system,
            fields=[f.model_copy(deep=True) for f in self.fields],
            indexes=list(self.indexes),
            listRule=self.listRule,
            viewRule=self.viewRule,
            createRule=self.createRule,
            updateRule=self.updateRule,
            deleteRule=self.deleteRule,
            viewQuery=self.viewQuery,
            auth=self.auth.model_copy(deep=True) if self.auth else None,
            search=list(self.search),
            created=self.created,
            updated=self.updated,
        )
