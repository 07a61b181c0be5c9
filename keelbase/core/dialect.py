"""What the filter compiler and the services need to know of an SQL dialect.

The store provides the implementations (SQLite, PostgreSQL); core only
describes the questions, so it stays free of I/O and of dialect details.
Placeholders are named (``:p0``); a store that needs another style rewrites them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from keelbase.core.fields import Storage
    from keelbase.core.filter.compiler import Resolved


class Dialect(Protocol):
    name: str  # as data only (an export's metadata, the DDL's rendering): never branch on it

    # Statements -------------------------------------------------------------

    def bootstrap_statements(self) -> list[str]:
        """The statements that create the system tables and whatever this dialect's SQL calls.

        Run in one transaction at every start, so each is safe to repeat.
        """
        ...

    def count_table(self, table: str, source: str) -> str:
        """The number of rows of a whole table: ``SELECT COUNT(*) source`` or a cheaper
        exact equal. ``table`` is the quoted table name, ``source`` the FROM clause."""
        ...

    def row_count_statements(self, table: str) -> list[str]:
        """What makes ``count_table`` cheap for a base collection's ``table`` (quoted),
        run when the table is created and at start-up; safe to repeat (none on SQLite,
        which counts a table from its b-tree)."""
        ...

    def select_rows(
        self,
        alias: str,
        source: str,
        where: str,
        order: list[str],
        *,
        joined: bool,
        table: bool,
        never_null: frozenset[str] = frozenset(),
    ) -> str:
        """``SELECT alias.* source WHERE where ORDER BY order``, each row of ``alias`` once.

        ``alias`` is quoted; ``source`` is the FROM clause with its joins, which
        may repeat a row when ``joined``; ``order`` items end in ASC or DESC.
        ``table`` says the rows come from a table (an ``id`` key and a rowid), not
        a view. Empty values sort first, and rows of a table that no sort item
        tells apart come in insertion order, as on SQLite. The ``order`` items in
        ``never_null`` sort NOT NULL columns: no rule for empty values is needed,
        so an index in either direction can serve them.
        """
        ...

    def typed_value(self, sql: str, storage: Storage) -> str:
        """A bound value standing in for a column of this storage kind.

        Used where a record not stored yet is given as a one-row CTE; a dialect
        that compares values of any types (SQLite) returns ``sql`` as it is.
        """
        ...

    def view_query(self, query: str) -> str:
        """A view's SELECT as this database must read it to name its columns as written.

        A dialect that keeps names as written (SQLite) returns ``query`` as it is.
        """
        ...

    def lock_rows(self, select_sql: str) -> str:
        """``select_sql`` (a plain SELECT of one table) made to lock the rows it reads.

        A read-modify-write reads this way inside its write transaction: the rows
        stay locked until the commit, so a concurrent writer of the same rows waits
        and then reads the committed result instead of overwriting it. A store
        whose write transactions already run one at a time returns the text as is.
        """
        ...

    def share_rows(self, select_sql: str) -> str:
        """``select_sql`` (a plain SELECT of one table) made to keep the rows it reads from
        being deleted until the transaction ends, without blocking other readers or writers
        that leave them in place: a record that references them is written meanwhile."""
        ...

    def lock_key(self) -> str | None:
        """A statement that locks the name bound as ``:key`` until the transaction ends, for
        a row that does not exist yet (two creates of one id, an upsert); ``None`` for a
        store whose write transactions already run one at a time."""
        ...

    def transaction_position(self) -> str:
        """SQL for where the writing transaction stands among all writers (sync's change log).

        PostgreSQL: the transaction's id (``pg_current_xact_id``), which increases
        with its start. A store whose writers commit one at a time answers ``0``.
        """
        ...

    def settled_below(self) -> str:
        """SQL for the lowest ``transaction_position`` that may still commit.

        Every change written below it is final (committed or rolled back), so a
        reader that never passes it skips nothing that commits later. PostgreSQL:
        the current snapshot's xmin; a one-writer store: the largest BIGINT.
        """
        ...

    # Comparisons ------------------------------------------------------------

    def coerce(self, op: str, left: Resolved, right: Resolved) -> tuple[str, str, str]:
        """Both sides of a comparison in one type, and the empty value in it: (left, right, empty).

        ``left.kind`` and ``right.kind`` say what each side yields. A dialect that
        compares values of any two types (SQLite) returns the sides as they are
        and ``''``.
        """
        ...

    def comparison_operator(self, op: str) -> str:
        """The null-safe ``IS`` / ``IS NOT`` (any other operator as it is) in this dialect's words."""
        ...

    # Expressions ------------------------------------------------------------

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

    # Full-text search -------------------------------------------------------

    def search_index_statements(self, table: str, index: str, columns: list[str]) -> list[str]:
        """Create the full-text index ``index`` over ``columns`` of ``table``, filled from
        the rows there are, and kept in sync by every later write inside its transaction.

        Names come from the validated schema, unquoted.
        """
        ...

    def drop_search_index_statements(self, table: str, index: str) -> list[str]:
        """Remove the full-text index ``index`` of ``table`` and whatever keeps it in sync."""
        ...

    def search_query(self, words: tuple[str, ...], column: str | None) -> str:
        """The bound value ``search_match`` and ``search_rank`` take: the words (letters and
        digits only) to find all of, in ``column`` or in any indexed column."""
        ...

    def search_match(
        self, alias: str, index: str, columns: list[str], column: str | None, query_sql: str
    ) -> str:
        """True for the row ``alias`` (quoted) holding every word of ``query_sql``."""
        ...

    def search_rank(
        self, alias: str, index: str, columns: list[str], query_sql: str, rank_alias: str
    ) -> tuple[str, str]:
        """The row's relevance to ``query_sql``, higher for a better match (NULL or 0
        for a row that does not match), as (a JOIN clause the query needs, named
        ``rank_alias``, or "", the expression)."""
        ...
