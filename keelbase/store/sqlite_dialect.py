"""SQLite's answers to the questions of ``keelbase.core.dialect.Dialect``."""

from __future__ import annotations

from keelbase.core.fields import Storage
from keelbase.core.filter.compiler import Resolved
from keelbase.store import system


class SqliteDialect:
    """SQLite compares values of any two types and keeps names as written.

    So where PostgreSQL casts or quotes (``coerce``, ``comparison_operator``,
    ``typed_value``, ``view_query``), SQLite's answers leave the SQL as it is.
    """

    name = "sqlite"

    def bootstrap_statements(self) -> list[str]:
        return system.sqlite_bootstrap_statements()

    def count_table(self, table: str, source: str) -> str:
        return f"SELECT COUNT(*) {source}"  # from the table's b-tree, without reading rows

    def row_count_statements(self, table: str) -> list[str]:
        return []

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
        distinct = "DISTINCT " if joined else ""
        sql = f"SELECT {distinct}{alias}.* {source} WHERE {where}"
        if order:
            sql += " ORDER BY " + ", ".join(order)
        return sql

    def coerce(self, op: str, left: Resolved, right: Resolved) -> tuple[str, str, str]:
        return left.sql, right.sql, "''"

    def comparison_operator(self, op: str) -> str:
        return op

    def typed_value(self, sql: str, storage: Storage) -> str:
        return sql

    def view_query(self, query: str) -> str:
        return query

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def json_each(self, expr: str) -> str:
        is_array = f"json_valid({expr}) AND json_type({expr}) = 'array'"
        return f"json_each(CASE WHEN {is_array} THEN {expr} ELSE json_array({expr}) END)"

    def json_each_join(self, expr: str, alias: str) -> str:
        return f"LEFT JOIN {self.json_each(expr)} {alias}"

    def json_array_length(self, expr: str) -> str:
        is_array = f"json_valid({expr}) AND json_type({expr}) = 'array'"
        return (
            f"(CASE WHEN {is_array} THEN json_array_length({expr}) "
            f"WHEN COALESCE({expr}, '') = '' THEN 0 ELSE 1 END)"
        )

    def json_extract(self, expr: str, path_sql: str) -> str:
        return f"(CASE WHEN json_valid({expr}) THEN json_extract({expr}, {path_sql}) ELSE NULL END)"

    def like(self, left: str, right: str, negate: bool) -> str:
        op = "NOT LIKE" if negate else "LIKE"
        return f"{left} {op} {right} ESCAPE '\\'"

    def random(self) -> str:
        return "RANDOM()"

    def rowid(self, table_alias: str) -> str:
        return f"{table_alias}._rowid_"

    def lower(self, expr: str) -> str:
        return f"LOWER({expr})"

    def strftime(self, format_sql: str, time_sql: str) -> str:
        return f"strftime({format_sql}, {time_sql})"

    def geo_distance(self, lon_a: str, lat_a: str, lon_b: str, lat_b: str) -> str:
        # Rounding can put the cosine of a zero distance at 1.0000000000000002, whose
        # acos is NULL: clamped, a record exactly at the point is 0 km away.
        cosine = (
            f"cos(radians({lat_a})) * cos(radians({lat_b})) * "
            f"cos(radians({lon_b}) - radians({lon_a})) + "
            f"sin(radians({lat_a})) * sin(radians({lat_b}))"
        )
        return f"(6371 * acos(min(1.0, max(-1.0, {cosine}))))"

    def transaction_position(self) -> str:
        # One writer: the sequence alone orders commits.
        return "0"

    def settled_below(self) -> str:
        return "9223372036854775807"

    def lock_rows(self, select_sql: str) -> str:
        # One writer connection runs write transactions one at a time: nothing to lock.
        return select_sql

    def share_rows(self, select_sql: str) -> str:
        return select_sql  # one writer: nothing to lock

    def lock_key(self) -> str | None:
        return None  # one writer: nothing to lock

    # Full-text search: an FTS5 table over the record table's content (external
    # content, keyed by its rowid), kept in sync by triggers, so it changes in the
    # writing transaction. unicode61 rather than trigram: whole words with BM25
    # ranking, as PostgreSQL's tsvector does, and an index a third of the size.

    def search_index_statements(self, table: str, index: str, columns: list[str]) -> list[str]:
        q = self.quote
        cols = ", ".join(q(c) for c in columns)
        new = ", ".join(f"new.{q(c)}" for c in columns)
        old = ", ".join(f"old.{q(c)}" for c in columns)
        fts = q(index)
        # _rowid_, not rowid: a field may be called "rowid" (never "_rowid_", a reserved name).
        delete = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old._rowid_, {old});"
        insert = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new._rowid_, {new});"
        return [
            f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content={q(table)}, "
            "content_rowid='_rowid_', tokenize='unicode61 remove_diacritics 2')",
            f"CREATE TRIGGER {q(index + '_ai')} AFTER INSERT ON {q(table)} BEGIN {insert} END",
            f"CREATE TRIGGER {q(index + '_ad')} AFTER DELETE ON {q(table)} BEGIN {delete} END",
            f"CREATE TRIGGER {q(index + '_au')} AFTER UPDATE OF {cols} ON {q(table)} "
            f"BEGIN {delete} {insert} END",
            f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
        ]

    def drop_search_index_statements(self, table: str, index: str) -> list[str]:
        return [
            *(f"DROP TRIGGER IF EXISTS {self.quote(index + s)}" for s in ("_ai", "_ad", "_au")),
            f"DROP TABLE IF EXISTS {self.quote(index)}",
        ]

    def search_query(self, words: tuple[str, ...], column: str | None) -> str:
        # Each word is letters and digits only, quoted: never FTS5 syntax.
        phrases = " ".join(f'"{w}"' for w in words)
        return f"{{{column}}} : ({phrases})" if column else phrases

    def search_match(
        self, alias: str, index: str, columns: list[str], column: str | None, query_sql: str
    ) -> str:
        fts = self.quote(index)
        return f"{alias}._rowid_ IN (SELECT rowid FROM {fts} WHERE {fts} MATCH {query_sql})"

    def search_rank(
        self, alias: str, index: str, columns: list[str], query_sql: str, rank_alias: str
    ) -> tuple[str, str]:
        # One pass over the matches, joined by rowid: a correlated bm25() per row
        # would run the whole MATCH again for every row.
        fts = self.quote(index)
        join = (
            f"LEFT JOIN (SELECT rowid AS rid, -bm25({fts}) AS score FROM {fts} "
            f"WHERE {fts} MATCH {query_sql}) {rank_alias} ON {rank_alias}.rid = {alias}._rowid_"
        )
        return join, f"{rank_alias}.score"
