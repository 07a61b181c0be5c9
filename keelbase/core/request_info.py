"""What a service needs to know of the request that called it; no HTTP types."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keelbase.core.records.record import Record

SUPERUSERS = "_superusers"
_SNAKE_BREAK = re.compile(r"[^a-zA-Z0-9]+")


# A pure function of the name: never stale, nothing invalidates it.
@lru_cache(maxsize=2048)
def header_key(name: str) -> str:
    """Header names as rules see them: lower case, anything else as ``_``."""
    return _SNAKE_BREAK.sub("_", name).strip("_").lower()


@dataclass
class RequestInfo:
    auth: Record | None = None
    method: str = "GET"
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    context: str = "default"
    # Server code acting on its own behalf (hooks, routes, cron): no rule applies.
    system: bool = False
    # The client's address (after the trusted proxy headers, if any): for login alerts.
    ip: str = ""

    @property
    def is_superuser(self) -> bool:
        return self.system or (self.auth is not None and self.auth.collection.name == SUPERUSERS)

    def with_body(self, body: dict[str, Any]) -> RequestInfo:
        return RequestInfo(
            self.auth,
            self.method,
            self.query,
            self.headers,
            body,
            self.context,
            self.system,
            self.ip,
        )


# Server code acting on its own behalf: every rule passes, as for a superuser.
SYSTEM = RequestInfo(system=True)
