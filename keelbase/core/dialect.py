"""What the filter compiler and the services need to know of an SQL dialect.

The store provides the implementations (SQLite, PostgreSQL); core only
describes the questions, so it stays free of I/O and of dialect details.
Placeholders are named (``:p0``); a store that needs another style rewrites them.
"""

from __future__ import annotations

from typing import Protocol


class Dialect(Protocol):
    name: str

    def quote(self, identifier: str) -> str:
        """An identifier, quoted. Callers pass only names from the validated schema."""
        ...

    def json_each(self, expr: str) -> str:
        """A table expression yielding one row per item of a JSON array, column ``value``.

        A value that is not a JSON array yields itself as the only item, as
        PocketBase treats a single value of a multi-valued field.
        """
        ...

    def json_each_join(self, expr: str, alias: str) -> str:
        """A LEFT JOIN clause over ``json_each(expr)`` named ``alias`` (column ``value``)."""
        ...

    def json_array_length(self, expr: str) -> str: ...

    def json_extract(self, expr: str, path_sql: str) -> str:
        """The value at a JSON path (``path_sql`` is a bound ``$.a.b``), as text or number."""
        ...

    def like(self, left: str, right: str, negate: bool) -> str:
        """A case-insensitive LIKE with ``\\`` as the escape character."""
        ...

    def random(self) -> str: ...

    def rowid(self, table_alias: str) -> str: ...

    def lower(self, expr: str) -> str: ...

    def strftime(self, format_sql: str, time_sql: str) -> str: ...

    def geo_distance(self, lon_a: str, lat_a: str, lon_b: str, lat_b: str) -> str:
        """Great-circle distance in kilometres."""
        ...

    def lock_rows(self, select_sql: str) -> str:
        """``select_sql`` (a plain SELECT of one table) made to lock the rows it reads.

        A read-modify-write reads this way inside its write transaction: the rows
        stay locked until the commit, so a concurrent writer of the same rows waits
        and then reads the committed result instead of overwriting it. A store
        whose write transactions already run one at a time returns the text as is.
        """
        ...
