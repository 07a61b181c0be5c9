"""Trying an index without keeping it: what a query costs before and after.

Both stores build the index inside a transaction that is always rolled back
(DDL is transactional on SQLite and PostgreSQL), so nothing of the trial
stays; PostgreSQL with the ``hypopg`` extension instead asks the planner about
a hypothetical index, which builds nothing and blocks no writer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from keelbase.store.base import Connection, Params

TIMED_RUNS = 3


@dataclass(frozen=True)
class IndexTrial:
    """``method`` is ``measured`` (times from real runs, in ms) or ``estimated``
    (planner costs only, with a hypothetical index)."""

    method: str
    before_plan: str
    after_plan: str
    before_ms: float | None = None
    after_ms: float | None = None
    before_cost: float | None = None
    after_cost: float | None = None

    @property
    def ratio(self) -> float | None:
        """How many times faster (or cheaper) the query is with the index."""
        if self.before_ms is not None and self.after_ms is not None:
            return self.before_ms / max(self.after_ms, 1e-3)
        if self.before_cost is not None and self.after_cost is not None:
            return self.before_cost / max(self.after_cost, 1e-3)
        return None

    def to_json(self) -> dict[str, object]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        ratio = self.ratio
        return {
            "method": self.method,
            "beforeMs": rounded(self.before_ms),
            "afterMs": rounded(self.after_ms),
            "beforeCost": rounded(self.before_cost),
            "afterCost": rounded(self.after_cost),
            "ratio": None if ratio is None else round(ratio, 2),
            "beforePlan": self.before_plan,
            "afterPlan": self.after_plan,
        }


class RolledBack(Exception):
    """Raised inside a trial's transaction to undo it."""


async def best_time_ms(conn: Connection, sql: str, params: Params) -> float:
    """The fastest of a few runs: the first one warms the cache, the rest are the query."""
    best = float("inf")
    for _ in range(TIMED_RUNS):
        began = time.perf_counter()
        await conn.fetch_all(sql, params)
        best = min(best, time.perf_counter() - began)
    return best * 1000
