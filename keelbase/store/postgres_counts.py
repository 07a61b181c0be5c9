"""Row counts of collection tables on PostgreSQL, kept by triggers, so a page's total
needs no scan of every row.

PostgreSQL has no stored row count: ``SELECT COUNT(*)`` reads the whole table (about
30 ms at 100,000 rows), for every page of a list. Each base collection's table gets
statement-level triggers (with transition tables, so a statement of many rows adds
once) that add what an INSERT adds and subtract what a DELETE removes in
``_kbRowCounts``, in the writing transaction itself: a reader's snapshot sees the
rows and the counts of the same committed transactions, so the sum is exactly
``COUNT(*)`` in that snapshot.

Each connection (backend process) writes its own row, keyed by its process id. A
backend runs one transaction at a time, so no two concurrent transactions ever
update the same row: creates never wait on each other for the count, and no lock
order between tables can deadlock. Row ``0`` holds the count at installation and
what :func:`compact_statements` folds into it at start-up.

The read (:func:`count_sql`) uses the counts only when the table's trigger is there
and enabled and row 0 names the table that now has that OID; otherwise (a table
made by another tool, a trigger dropped, a table renamed, counts restored by
``pg_restore`` under OIDs the new tables do not have) it counts the rows, so it is
never wrong, only slower, until the next start counts them once again
(:func:`install_statements`, which checks the same).
"""

from __future__ import annotations

TABLE = '"_kbRowCounts"'

STATEMENTS = r"""
CREATE TABLE IF NOT EXISTS "_kbRowCounts" (
    "rel"   OID NOT NULL,
    "shard" INTEGER NOT NULL,
    "n"     BIGINT NOT NULL,
    "name"  TEXT,
    PRIMARY KEY ("rel", "shard")
)$$
CREATE OR REPLACE FUNCTION _kb_rows_added() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE added BIGINT;
BEGIN
    SELECT count(*) INTO added FROM kb_new_rows;
    IF added > 0 THEN
        INSERT INTO "_kbRowCounts" AS c ("rel", "shard", "n")
        VALUES (TG_RELID, pg_backend_pid(), added)
        ON CONFLICT ("rel", "shard") DO UPDATE SET "n" = c."n" + excluded."n";
    END IF;
    RETURN NULL;
END $f$$$
CREATE OR REPLACE FUNCTION _kb_rows_removed() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE removed BIGINT;
BEGIN
    SELECT count(*) INTO removed FROM kb_old_rows;
    IF removed > 0 THEN
        INSERT INTO "_kbRowCounts" AS c ("rel", "shard", "n")
        VALUES (TG_RELID, pg_backend_pid(), -removed)
        ON CONFLICT ("rel", "shard") DO UPDATE SET "n" = c."n" + excluded."n";
    END IF;
    RETURN NULL;
END $f$$$
CREATE OR REPLACE FUNCTION _kb_rows_truncated() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    DELETE FROM "_kbRowCounts" WHERE "rel" = TG_RELID;
    INSERT INTO "_kbRowCounts" ("rel", "shard", "n", "name") VALUES (TG_RELID, 0, 0, TG_TABLE_NAME);
    RETURN NULL;
END $f$$$
CREATE OR REPLACE FUNCTION _kb_count_rows(tbl regclass) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = tbl AND tgname = '_kb_rows_removed'
               AND tgenabled <> 'D')
       AND EXISTS (SELECT 1 FROM "_kbRowCounts" c JOIN pg_class k ON k.oid = c."rel"
                   WHERE c."rel" = tbl AND c."shard" = 0 AND c."name" = k.relname) THEN
        RETURN;
    END IF;
    -- No write may land between the count below and the triggers taking over.
    EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS _kb_rows_added ON %s', tbl);
    EXECUTE format('CREATE TRIGGER _kb_rows_added AFTER INSERT ON %s '
                   'REFERENCING NEW TABLE AS kb_new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION _kb_rows_added()', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS _kb_rows_removed ON %s', tbl);
    EXECUTE format('CREATE TRIGGER _kb_rows_removed AFTER DELETE ON %s '
                   'REFERENCING OLD TABLE AS kb_old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION _kb_rows_removed()', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS _kb_rows_truncated ON %s', tbl);
    EXECUTE format('CREATE TRIGGER _kb_rows_truncated AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION _kb_rows_truncated()', tbl);
    -- Rows of a dropped table whose OID this one reuses, and of dropped tables.
    DELETE FROM "_kbRowCounts" c WHERE c."rel" = tbl
        OR NOT EXISTS (SELECT 1 FROM pg_class WHERE pg_class.oid = c."rel");
    EXECUTE format('INSERT INTO "_kbRowCounts" ("rel", "shard", "n", "name") '
                   'SELECT %s::oid, 0, count(*), %L FROM %s',
                   tbl::oid, (SELECT relname FROM pg_class WHERE oid = tbl), tbl);
END $f$
"""


def bootstrap_statements() -> list[str]:
    """The counts table and the trigger functions; safe to repeat."""
    return [s.strip() for s in STATEMENTS.split("$$\n") if s.strip()]


def _literal(quoted_table: str) -> str:
    return "'" + quoted_table.replace("'", "''") + "'"


def install_statements(quoted_table: str) -> list[str]:
    """Put the triggers on a table and count its rows once; a no-op when they are there."""
    return [f"SELECT _kb_count_rows({_literal(quoted_table)}::regclass)"]


def compact_statements(quoted_table: str) -> list[str]:
    """Fold the table's per-connection rows into row 0, so the rows of connections long
    gone do not pile up (at start-up, under the bootstrap lock)."""
    rel = f"to_regclass({_literal(quoted_table)})"
    return [
        f"WITH gone AS (DELETE FROM {TABLE} WHERE rel = {rel} AND shard <> 0 RETURNING rel, n) "
        f"INSERT INTO {TABLE} AS c (rel, shard, n) SELECT MIN(rel), 0, SUM(n) FROM gone "
        "HAVING COUNT(*) > 0 ON CONFLICT (rel, shard) DO UPDATE SET n = c.n + excluded.n"
    ]


def count_sql(quoted_table: str, source: str) -> str:
    """The number of rows of a whole table: the kept counts when the triggers are in
    place, else ``SELECT COUNT(*) source`` (evaluated only then)."""
    rel = f"to_regclass({_literal(quoted_table)})"
    kept = (
        f"SELECT CAST(SUM(n) AS BIGINT) FROM {TABLE} WHERE rel = {rel} AND EXISTS "
        f"(SELECT 1 FROM pg_trigger WHERE tgrelid = {rel} AND tgname = '_kb_rows_removed' "
        f"AND tgenabled <> 'D') AND EXISTS (SELECT 1 FROM {TABLE} s JOIN pg_class k "
        f"ON k.oid = s.rel WHERE s.rel = {rel} AND s.shard = 0 AND s.name = k.relname)"
    )
    return f"SELECT COALESCE(({kept}), (SELECT COUNT(*) {source}))"
