"""The change log sync reads: one row per record write, written in the write's transaction.

A change's position is ``(tx, seq)``: ``seq`` comes from the store's sequence
when the row is written and ``tx`` is the writing transaction's place among
writers (``Dialect.transaction_position``). On SQLite writers commit one at a
time, ``tx`` is 0 and ``seq`` alone orders commits. On PostgreSQL several
transactions (and nodes) write at once, so a lower ``seq`` may commit after a
higher one is already visible; a reader therefore only returns changes whose
``tx`` is below ``Dialect.settled_below`` (every transaction there has ended)
and orders them by ``(tx, seq)``. A change that commits later always lands
after every position already handed out, so no cursor ever passes over it.

Rows older than the retention window are pruned; the highest position pruned
is kept in ``_kbChangesPruned`` so that a cursor below it is known to have
missed changes (410). A ``reset`` row (a truncate, a change of the list rule
or the fields) tells every cursor before it to start again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from keelbase.core.collections.collection import Collection
from keelbase.core.dialect import Dialect
from keelbase.store.base import Connection

RESET = "reset"
Position = tuple[int, int]


@dataclass(frozen=True)
class Change:
    tx: int
    seq: int
    record: str
    action: str

    @property
    def position(self) -> Position:
        return (self.tx, self.seq)


@dataclass(frozen=True)
class ChangesPage:
    changes: list[Change]
    # More settled changes than the page held.
    more: bool
    # Committed changes exist that wait for an older transaction to end: pull again soon.
    held: bool


def now_ms() -> int:
    return int(time.time() * 1000)


class ChangeLog:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    async def write(
        self,
        conn: Connection,
        collection: Collection,
        record_id: str,
        action: str,
        record: object = None,
    ) -> None:
        await conn.execute(
            'INSERT INTO "_kbChanges" ("tx", "collection", "record", "action", "at") '
            f"VALUES ({self.dialect.transaction_position()}, :collection, :record, :action, :at)",
            {"collection": collection.id, "record": record_id, "action": action, "at": now_ms()},
        )

    async def forget_collection(self, conn: Connection, collection_id: str) -> None:
        await conn.execute(
            'DELETE FROM "_kbChanges" WHERE "collection" = :collection',
            {"collection": collection_id},
        )

    def read_sql(self) -> str:
        """The page query of ``read`` (``:collection``, ``:tx``, ``:seq``, ``:limit``).

        Two index ranges of ``_kbChanges_position`` (the rest of the cursor's
        transaction, then later ones): a row value comparison would use the index on
        ``tx`` alone and scan every change of a SQLite log, where ``tx`` is always 0.
        """
        columns = '"tx", "seq", "record", "action"'
        return (
            f'SELECT {columns}, {self.dialect.settled_below()} AS "settled" FROM ('
            f'SELECT * FROM (SELECT {columns} FROM "_kbChanges" WHERE "collection" = :collection '
            'AND "tx" = :tx AND "seq" > :seq ORDER BY "seq" LIMIT :limit) AS "same" UNION ALL '
            f'SELECT * FROM (SELECT {columns} FROM "_kbChanges" WHERE "collection" = :collection '
            'AND "tx" > :tx ORDER BY "tx", "seq" LIMIT :limit) AS "later"'
            ') AS "page" ORDER BY "tx", "seq" LIMIT :limit'
        )

    async def read(
        self, conn: Connection, collection_id: str, after: Position, limit: int
    ) -> ChangesPage:
        """Up to ``limit`` settled changes after ``after``, in position order (one indexed range)."""
        rows = await conn.fetch_all(
            self.read_sql(),
            {"collection": collection_id, "tx": after[0], "seq": after[1], "limit": limit + 1},
        )
        changes: list[Change] = []
        held = False
        for row in rows:
            if int(row["tx"]) >= int(row["settled"]):
                held = True
                break
            changes.append(Change(int(row["tx"]), int(row["seq"]), row["record"], row["action"]))
        more = len(changes) > limit
        return ChangesPage(changes[:limit], more, held)

    async def head(self, conn: Connection) -> Position:
        """The highest settled position: a start from which nothing later is missed."""
        row = await conn.fetch_one(
            'SELECT "tx", "seq" FROM "_kbChanges" '
            f'WHERE "tx" < {self.dialect.settled_below()} ORDER BY "tx" DESC, "seq" DESC LIMIT 1'
        )
        top = (int(row["tx"]), int(row["seq"])) if row else (0, 0)
        return max(top, await self.pruned(conn))

    async def pruned(self, conn: Connection) -> Position:
        row = await conn.fetch_one('SELECT "tx", "seq" FROM "_kbChangesPruned" WHERE "id" = 1')
        return (int(row["tx"]), int(row["seq"])) if row else (0, 0)

    async def prune(self, conn: Connection, older_than_ms: int) -> int:
        """Forget changes written before ``older_than_ms``; remember the highest one forgotten."""
        row = await conn.fetch_one(
            'SELECT "tx", "seq" FROM "_kbChanges" WHERE "at" < :at '
            'ORDER BY "tx" DESC, "seq" DESC LIMIT 1',
            {"at": older_than_ms},
        )
        if row is None:
            return 0
        top = (int(row["tx"]), int(row["seq"]))
        await conn.execute(
            'INSERT INTO "_kbChangesPruned" ("id", "tx", "seq") VALUES (1, 0, 0) '
            'ON CONFLICT ("id") DO NOTHING'
        )
        await conn.execute(
            'UPDATE "_kbChangesPruned" SET "tx" = :tx, "seq" = :seq '
            'WHERE "id" = 1 AND ("tx", "seq") < (:tx, :seq)',
            {"tx": top[0], "seq": top[1]},
        )
        return await conn.execute(
            'DELETE FROM "_kbChanges" WHERE ("tx", "seq") <= (:tx, :seq) AND "at" < :at',
            {"tx": top[0], "seq": top[1], "at": older_than_ms},
        )
