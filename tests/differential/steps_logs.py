"""Differential steps for the logs API: who may read, the shapes of empty answers and errors.

The entries themselves differ between the servers (ids, times, request ids,
and when each server's batch reaches its table), so the steps compare what
does not depend on them: permissions, a missing entry, lists and stats
filtered to nothing, and bad filters and sorts.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

Step = dict[str, Any]
SU = "superuser"
NOTHING = 'message = "no entry has this message" && data.status >= 600'


def step(name: str, method: str, url: str, who: str = "guest", **extra: Any) -> Step:
    return {"name": name, "method": method, "url": url, "as": who, **extra}


def qs(**params: str) -> str:
    return "?" + "&".join(f"{key}={quote(value)}" for key, value in params.items())


LOGS_STEPS: list[Step] = [
    step("logs: guest list", "GET", "/api/logs"),
    step("logs: user list", "GET", "/api/logs", "user1"),
    step("logs: guest view", "GET", "/api/logs/abcdefghijklmno"),
    step("logs: user view", "GET", "/api/logs/abcdefghijklmno", "user1"),
    step("logs: guest stats", "GET", "/api/logs/stats"),
    step("logs: user stats", "GET", "/api/logs/stats", "user1"),
    step("logs: user delete", "DELETE", "/api/logs", "user1"),
    step("logs: view missing", "GET", "/api/logs/abcdefghijklmno", SU),
    step("logs: list of nothing", "GET", "/api/logs" + qs(filter=NOTHING), SU),
    step(
        "logs: list of nothing, sorted, page 2, skipTotal",
        "GET",
        "/api/logs"
        + qs(filter=NOTHING, sort="-@rowid,level", page="2", perPage="5", skipTotal="1"),
        SU,
    ),
    step("logs: stats of nothing", "GET", "/api/logs/stats" + qs(filter=NOTHING), SU),
    step("logs: bad filter", "GET", "/api/logs" + qs(filter="level >>"), SU),
    step("logs: unknown filter field", "GET", "/api/logs" + qs(filter="nope = 1"), SU),
    step("logs: unknown sort field", "GET", "/api/logs" + qs(sort="nope"), SU),
    step("logs: bad stats filter", "GET", "/api/logs/stats" + qs(filter="level >>"), SU),
    step("logs: delete all", "DELETE", "/api/logs", SU),
]
