"""What one committed change of collections did, for whoever keeps a record of it.

Listeners (automigrate) hear each change inside its transaction, so what they
write commits or rolls back with the change itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from keelbase.core.collections.collection import Collection
from keelbase.store.base import Connection

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
IMPORT = "import"


@dataclass
class SchemaChange:
    """One create, update, delete or import of collections.

    ``before`` holds the collections it changed or deleted as they were;
    ``after`` those it created or changed, as saved. Views whose fields followed
    a change of their source are left out: the same change redone refreshes
    them the same way.
    """

    action: str
    before: list[Collection] = field(default_factory=list)
    after: list[Collection] = field(default_factory=list)

    @property
    def created(self) -> list[Collection]:
        old = {c.id for c in self.before}
        return [c for c in self.after if c.id not in old]

    @property
    def deleted(self) -> list[Collection]:
        new = {c.id for c in self.after}
        return [c for c in self.before if c.id not in new]


ChangeListener = Callable[[Connection, SchemaChange], Awaitable[None]]
