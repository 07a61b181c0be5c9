"""PostgreSQL's answers to ``keelbase.core.dialect.Dialect``, and the SQL helpers they use.

SQLite compares values of any two types; PostgreSQL refuses ``number = text``.
So that a filter selects the same rows as on SQLite, ``coerce`` brings both
sides of a comparison to one type first, from the kinds the resolver reports:
text with text stays text, numbers (and booleans, 0/1 on SQLite) compare as
numbers, and any other mix compares as ``jsonb`` values (equal only when both
type and value are equal, as SQLite's comparison of mixed types).

``FUNCTIONS`` are created in the database at start-up: JSON items of a value
that may or may not be a JSON array, JSON paths in SQLite's ``$.a[0]`` form,
and SQLite's ``strftime``.
"""

from __future__ import annotations

import re

from keelbase.core.fields import Storage
from keelbase.core.filter.compiler import Resolved
from keelbase.store import postgres_counts, system

_IS = {"IS": "IS NOT DISTINCT FROM", "IS NOT": "IS DISTINCT FROM"}


def _text(sql: str, kind: str) -> str:
    if kind == "bool":
        return f"CAST(CAST({sql} AS int) AS text)"
    if kind == "json":
        return f"kb_text({sql})"
    if kind == "jsontext":
        return f"kb_json_text({sql})"
    return f"CAST({sql} AS text)"


def _number(sql: str, kind: str) -> str:
    if kind == "bool":
        return f"CAST(CAST({sql} AS int) AS double precision)"
    return f"CAST({sql} AS double precision)"


def _jsonb(sql: str, kind: str) -> str:
    if kind in ("json", "jsontext"):
        return f"CAST({sql} AS jsonb)"
    if kind in ("number", "bool"):
        return f"to_jsonb({_number(sql, kind)})"
    if kind == "null":
        return f"CAST({sql} AS jsonb)"
    return f"to_jsonb(CAST({sql} AS text))"


_COLUMN = re.compile(r'^"(?:[^"]|"")+"\."(?:[^"]|"")+"$')


def _is_column(sql: str) -> bool:
    return _COLUMN.match(sql) is not None


def _aggregate(item: str) -> str:
    """A sort item over grouped rows: the smallest value for ASC, the largest for DESC."""
    expr, _, direction = item.rpartition(" ")
    if direction == "ASC":
        return f"MIN({expr}) ASC"
    if direction == "DESC":
        return f"MAX({expr}) DESC"
    return f"MIN({item})"


def _nulls_first(item: str) -> str:
    """Empty (NULL) values sort first, as SQLite sorts them; PostgreSQL puts them last."""
    if item.endswith(" ASC"):
        return item + " NULLS FIRST"
    if item.endswith(" DESC"):
        return item + " NULLS LAST"
    return item


def quote_view_aliases(query: str) -> str:
    from keelbase.core.collections.view_query import read_columns

    columns, _ = read_columns(query)
    for column in columns:
        name = column.name
        if name != name.lower() and re.fullmatch(r"\w+", name):
            query = re.sub(rf"(?i)(\bas\s+)({name})\b", r'\1"\2"', query)
    return query


class PostgresDialect:
    name = "postgresql"

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def json_each(self, expr: str) -> str:
        return f"kb_items({expr})"

    def json_each_join(self, expr: str, alias: str) -> str:
        return f"LEFT JOIN LATERAL kb_items({expr}) {alias} ON TRUE"

    def json_array_length(self, expr: str) -> str:
        return f"kb_array_length({expr})"

    def json_extract(self, expr: str, path_sql: str) -> str:
        return f"kb_json_extract({expr}, CAST({path_sql} AS text))"

    def like(self, left: str, right: str, negate: bool) -> str:
        op = "NOT ILIKE" if negate else "ILIKE"
        return f"{left} {op} {right} ESCAPE '\\'"

    def random(self) -> str:
        return "RANDOM()"

    def rowid(self, table_alias: str) -> str:
        return f'{table_alias}."_rowid_"'

    def lower(self, expr: str) -> str:
        return f"LOWER(CAST({expr} AS text))"

    def strftime(self, format_sql: str, time_sql: str) -> str:
        return f"strftime(CAST({format_sql} AS text), {time_sql})"

    def geo_distance(self, lon_a: str, lat_a: str, lon_b: str, lat_b: str) -> str:
        lon1, lat1, lon2, lat2 = (f"kb_num({x})" for x in (lon_a, lat_a, lon_b, lat_b))
        cosine = (
            f"cos(radians({lat1})) * cos(radians({lat2})) * "
            f"cos(radians({lon2}) - radians({lon1})) + sin(radians({lat1})) * sin(radians({lat2}))"
        )
        return f"(6371 * acos(LEAST(1.0, GREATEST(-1.0, {cosine}))))"

    # Full-text search: a GIN index over one tsvector expression of the columns
    # ("simple": no stemming, like SQLite's unicode61), so there is nothing to keep
    # in sync by hand: PostgreSQL updates the index in the writing transaction.

    def _search_document(self, prefix: str, columns: list[str]) -> str:
        text = " || ' ' || ".join(f"coalesce({prefix}{self.quote(c)}, '')" for c in columns)
        return f"to_tsvector('simple'::regconfig, {text})"

    def search_index_statements(self, table: str, index: str, columns: list[str]) -> list[str]:
        return [
            f"CREATE INDEX {self.quote(index[:63])} ON {self.quote(table)} "
            f"USING GIN (({self._search_document('', columns)}))"
        ]

    def drop_search_index_statements(self, table: str, index: str) -> list[str]:
        return [f"DROP INDEX IF EXISTS {self.quote(index[:63])}"]

    def search_query(self, words: tuple[str, ...], column: str | None) -> str:
        return " ".join(words)

    def search_match(
        self, alias: str, index: str, columns: list[str], column: str | None, query_sql: str
    ) -> str:
        query = f"plainto_tsquery('simple'::regconfig, CAST({query_sql} AS text))"
        condition = f"{self._search_document(alias + '.', columns)} @@ {query}"
        if column is not None:
            # The index narrows the rows down; the one column's words are checked on those.
            condition += f" AND {self._search_document(alias + '.', [column])} @@ {query}"
        return f"({condition})"

    def search_rank(
        self, alias: str, index: str, columns: list[str], query_sql: str, rank_alias: str
    ) -> tuple[str, str]:
        query = f"plainto_tsquery('simple'::regconfig, CAST({query_sql} AS text))"
        return "", f"ts_rank({self._search_document(alias + '.', columns)}, {query})"

    def lock_rows(self, select_sql: str) -> str:
        # Held until the transaction ends; a concurrent FOR UPDATE waits, then reads the
        # committed row (READ COMMITTED), or no row if the holder deleted it.
        return f"{select_sql} FOR UPDATE"

    def share_rows(self, select_sql: str) -> str:
        # What a foreign key takes: a DELETE (or a change of the id) waits, other creates do not.
        return f"{select_sql} FOR KEY SHARE"

    def lock_key(self) -> str | None:
        # A transaction-scoped advisory lock on the key's 64-bit hash: a collision only waits.
        return "SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"

    def transaction_position(self) -> str:
        return "pg_current_xact_id()::text::bigint"

    def settled_below(self) -> str:
        # The snapshot's xmin, but passing over transactions known to run in another
        # database of the cluster (they never write our log): a long transaction
        # elsewhere must not hold the feed back. An xid is skipped only while
        # pg_stat_activity shows it in another database; anything unknown counts.
        return (
            "(SELECT COALESCE(MIN(x::text::bigint), "
            "pg_snapshot_xmax(pg_current_snapshot())::text::bigint) "
            "FROM pg_snapshot_xip(pg_current_snapshot()) AS x WHERE NOT EXISTS ("
            "SELECT 1 FROM pg_stat_activity a WHERE a.backend_xid IS NOT NULL "
            "AND a.datid IS NOT NULL AND a.datname <> current_database() "
            "AND a.backend_xid::text::bigint = x::text::bigint % 4294967296))"
        )

    def typed_value(self, sql: str, storage: Storage) -> str:
        """A bound value standing in for a column of this storage kind (a one-row CTE)."""
        if storage is Storage.NUMBER:
            return f"CAST({sql} AS double precision)"
        if storage is Storage.BOOL:
            return f"CAST({sql} AS boolean)"
        if storage in (Storage.JSON, Storage.JSON_ARRAY, Storage.GEO):
            return f"CAST({sql} AS jsonb)"
        return f'CAST({sql} AS text) COLLATE "C"'

    def view_query(self, query: str) -> str:
        """A view's SELECT with its mixed-case aliases quoted.

        PostgreSQL folds unquoted names to lower case (``AS maxViews`` names a
        column ``maxviews``); SQLite keeps them as written, and so do the fields.
        """
        return quote_view_aliases(query)

    def bootstrap_statements(self) -> list[str]:
        """The system tables, then the helper functions (``FUNCTIONS``) this dialect's SQL calls."""
        return [
            *system.postgres_bootstrap_statements(),
            *function_statements(),
            *postgres_counts.bootstrap_statements(),
        ]

    def count_table(self, table: str, source: str) -> str:
        """The count the triggers keep (``store/postgres_counts.py``), not a scan of every row."""
        return postgres_counts.count_sql(table, source)

    def row_count_statements(self, table: str) -> list[str]:
        return [
            *postgres_counts.install_statements(table),
            *postgres_counts.compact_statements(table),
        ]

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
        """PostgreSQL refuses DISTINCT rows sorted by a joined value; group by the key instead.

        Rows come in insertion order when no sort is given, as SQLite's rowid order.
        A NOT NULL column sorts without NULLS FIRST/LAST, so that an index on it
        serves either direction (``created DESC NULLS LAST`` would sort every row).
        """
        if joined and table:
            sql = f"SELECT {alias}.* {source} WHERE {where} GROUP BY {alias}.{self.quote('id')}"
            order = [_nulls_first(_aggregate(item)) for item in order]
        else:
            distinct = "DISTINCT " if joined else ""
            sql = f"SELECT {distinct}{alias}.* {source} WHERE {where}"
            order = [item if item in never_null else _nulls_first(item) for item in order]
        if table:
            order.append(self.rowid(alias))
        if order:
            sql += " ORDER BY " + ", ".join(order)
        return sql

    # Comparisons -------------------------------------------------------------

    def comparison_operator(self, op: str) -> str:
        """SQLite's null-safe ``IS`` / ``IS NOT`` in PostgreSQL's words."""
        return _IS.get(op, op)

    def coerce(self, op: str, left: Resolved, right: Resolved) -> tuple[str, str, str]:
        """Both sides in one type, and the empty value in it: (left, right, empty)."""
        lk, rk = left.kind or "text", right.kind or "text"
        if op in ("~", "!~"):
            return _text(left.sql, lk), _text(right.sql, rk), "''"
        kinds = {lk, rk} - {"null"}
        # SQLite's affinity: a value compared with a column takes the column's type
        # (text that reads as a number becomes one; other text sorts above every number).
        if _is_column(left.sql) and right.is_value:
            if lk == "text" and rk == "number":
                return _text(left.sql, lk), _text(right.sql, rk), "''"
            if lk in ("number", "bool") and rk == "text":
                empty = "CAST('NaN' AS double precision)"
                return _number(left.sql, lk), f"kb_affinity({right.sql})", empty
        if _is_column(right.sql) and left.is_value:
            if rk == "text" and lk == "number":
                return _text(left.sql, lk), _text(right.sql, rk), "''"
            if rk in ("number", "bool") and lk == "text":
                empty = "CAST('NaN' AS double precision)"
                return f"kb_affinity({left.sql})", _number(right.sql, rk), empty
        if kinds in ({"jsontext", "text"}, {"jsontext"}):  # stored JSON, compared as its text
            return _text(left.sql, lk), _text(right.sql, rk), "''"
        if kinds <= {"text"}:
            return _text(left.sql, lk), _text(right.sql, rk), "''"
        if kinds <= {"number", "bool"}:
            empty = "CAST('NaN' AS double precision)"
            return _number(left.sql, lk), _number(right.sql, rk), empty
        return _jsonb(left.sql, lk), _jsonb(right.sql, rk), "CAST('\"\"' AS jsonb)"


FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION kb_jsonb(x text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
    RETURN x::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $f$;

CREATE OR REPLACE FUNCTION kb_items(x jsonb) RETURNS TABLE(value text) LANGUAGE sql IMMUTABLE AS $f$
    SELECT e FROM jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(x) = 'array' THEN x ELSE jsonb_build_array(x) END) AS e
$f$;

CREATE OR REPLACE FUNCTION kb_items(x text) RETURNS TABLE(value text) LANGUAGE sql IMMUTABLE AS $f$
    SELECT * FROM kb_items(CASE WHEN jsonb_typeof(kb_jsonb(x)) = 'array'
        THEN kb_jsonb(x) ELSE to_jsonb(x) END)
$f$;

CREATE OR REPLACE FUNCTION kb_array_length(x jsonb) RETURNS integer LANGUAGE sql IMMUTABLE AS $f$
    SELECT CASE WHEN jsonb_typeof(x) = 'array' THEN jsonb_array_length(x)
        WHEN x IS NULL OR x = '""'::jsonb THEN 0 ELSE 1 END
$f$;

CREATE OR REPLACE FUNCTION kb_array_length(x text) RETURNS integer LANGUAGE sql IMMUTABLE AS $f$
    SELECT CASE WHEN jsonb_typeof(kb_jsonb(x)) = 'array' THEN jsonb_array_length(kb_jsonb(x))
        WHEN COALESCE(x, '') = '' THEN 0 ELSE 1 END
$f$;

CREATE OR REPLACE FUNCTION kb_path(p text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
    SELECT CASE WHEN p = '$' THEN '{}'::text[]
        ELSE string_to_array(ltrim(replace(replace(substr(p, 2), '[', '.'), ']', ''), '.'), '.') END
$f$;

CREATE OR REPLACE FUNCTION kb_json_extract(x jsonb, p text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $f$
    SELECT CASE jsonb_typeof(x #> kb_path(p)) WHEN 'null' THEN NULL
        WHEN 'boolean' THEN to_jsonb((x #>> kb_path(p))::boolean::int)
        ELSE x #> kb_path(p) END
$f$;

CREATE OR REPLACE FUNCTION kb_json_text(x jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
    IF jsonb_typeof(x) = 'array' THEN
        RETURN '[' || COALESCE((SELECT string_agg(kb_json_text(e), ',' ORDER BY i)
            FROM jsonb_array_elements(x) WITH ORDINALITY AS t(e, i)), '') || ']';
    ELSIF jsonb_typeof(x) = 'object' THEN
        RETURN '{' || COALESCE((SELECT string_agg(to_jsonb(k)::text || ':' || kb_json_text(v), ','
            ORDER BY k COLLATE "C") FROM jsonb_each(x) AS t(k, v)), '') || '}';
    END IF;
    RETURN x::text;
END $f$;

-- A view's computed column is a JSON field whose column has the expression's own type.
CREATE OR REPLACE FUNCTION kb_json_text(x integer) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT x::text
$f$;

CREATE OR REPLACE FUNCTION kb_json_text(x bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT x::text
$f$;

CREATE OR REPLACE FUNCTION kb_json_text(x numeric) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT kb_json_text(to_jsonb(x))
$f$;

CREATE OR REPLACE FUNCTION kb_json_text(x double precision) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT kb_json_text(to_jsonb(x))
$f$;

CREATE OR REPLACE FUNCTION kb_json_text(x boolean) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT x::int::text
$f$;

CREATE OR REPLACE FUNCTION kb_json_text(x text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT x
$f$;

CREATE OR REPLACE FUNCTION kb_json_extract(x json, p text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $f$
    SELECT kb_json_extract(x::jsonb, p)
$f$;

CREATE OR REPLACE FUNCTION kb_json_extract(x text, p text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $f$
    SELECT kb_json_extract(kb_jsonb(x), p)
$f$;

CREATE OR REPLACE FUNCTION kb_text(x jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT CASE jsonb_typeof(x) WHEN 'string' THEN x #>> '{}' WHEN 'null' THEN NULL
        ELSE x::text END
$f$;

CREATE OR REPLACE FUNCTION kb_text(x text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT x
$f$;

CREATE OR REPLACE FUNCTION kb_float(x text) RETURNS double precision LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
    RETURN x::double precision;
EXCEPTION WHEN others THEN
    RETURN 0;
END $f$;

CREATE OR REPLACE FUNCTION kb_affinity(x text) RETURNS double precision LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
    IF x IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN trim(x)::double precision;
EXCEPTION WHEN others THEN
    RETURN 'Infinity'::double precision;
END $f$;

CREATE OR REPLACE FUNCTION kb_num(x double precision) RETURNS double precision LANGUAGE sql IMMUTABLE AS $f$
    SELECT x
$f$;

CREATE OR REPLACE FUNCTION kb_num(x text) RETURNS double precision LANGUAGE sql IMMUTABLE AS $f$
    SELECT kb_float(x)
$f$;

CREATE OR REPLACE FUNCTION kb_num(x jsonb) RETURNS double precision LANGUAGE sql IMMUTABLE AS $f$
    SELECT CASE jsonb_typeof(x) WHEN 'number' THEN (x #>> '{}')::double precision
        WHEN 'string' THEN kb_float(x #>> '{}') WHEN 'boolean' THEN (x #>> '{}')::boolean::int
        ELSE NULL END
$f$;

CREATE OR REPLACE FUNCTION kb_time(t text, mods text[]) RETURNS timestamp LANGUAGE plpgsql STABLE AS $f$
DECLARE
    ts timestamp;
    m text;
    parts text[];
    amount double precision;
    unit text;
BEGIN
    IF t IS NULL OR t = '' THEN
        RETURN NULL;
    END IF;
    BEGIN
        IF lower(t) = 'now' THEN
            ts := now() AT TIME ZONE 'UTC';
        ELSIF t ~ '^-?[0-9]+(\.[0-9]+)?$' THEN
            IF 'unixepoch' = ANY(mods) THEN
                ts := to_timestamp(t::double precision) AT TIME ZONE 'UTC';
            ELSE
                ts := (timestamp '4714-11-24 12:00:00 BC')
                    + make_interval(secs => t::double precision * 86400);
            END IF;
        ELSE
            ts := t::timestamptz AT TIME ZONE 'UTC';
        END IF;
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END;
    FOREACH m IN ARRAY mods LOOP
        m := lower(trim(m));
        IF m = 'unixepoch' OR m = 'utc' OR m = 'localtime' OR m = 'auto' OR m = 'subsec' THEN
            CONTINUE;
        ELSIF m = 'start of day' THEN
            ts := date_trunc('day', ts);
        ELSIF m = 'start of month' THEN
            ts := date_trunc('month', ts);
        ELSIF m = 'start of year' THEN
            ts := date_trunc('year', ts);
        ELSIF m ~ '^weekday [0-6]$' THEN
            ts := ts + make_interval(days => ((substr(m, 9)::int - extract(dow FROM ts)::int + 7) % 7));
        ELSIF m ~ '^[+-]?[0-9]+(\.[0-9]+)? +[a-z]+$' THEN
            parts := regexp_split_to_array(m, ' +');
            amount := parts[1]::double precision;
            unit := rtrim(parts[2], 's');
            IF unit = 'day' THEN ts := ts + make_interval(secs => amount * 86400);
            ELSIF unit = 'hour' THEN ts := ts + make_interval(secs => amount * 3600);
            ELSIF unit = 'minute' THEN ts := ts + make_interval(secs => amount * 60);
            ELSIF unit = 'second' THEN ts := ts + make_interval(secs => amount);
            ELSIF unit = 'month' THEN ts := ts + make_interval(months => amount::int);
            ELSIF unit = 'year' THEN ts := ts + make_interval(years => amount::int);
            ELSE RETURN NULL;
            END IF;
        ELSE
            RETURN NULL;
        END IF;
    END LOOP;
    RETURN ts;
END $f$;

CREATE OR REPLACE FUNCTION strftime(fmt text, t text, VARIADIC mods text[]) RETURNS text
LANGUAGE plpgsql STABLE AS $f$
DECLARE
    ts timestamp := kb_time(t, mods);
    out text := '';
    i int := 1;
    c text;
    yday int;
    wday int;
BEGIN
    IF ts IS NULL OR fmt IS NULL THEN
        RETURN NULL;
    END IF;
    WHILE i <= length(fmt) LOOP
        c := substr(fmt, i, 1);
        IF c <> '%' OR i = length(fmt) THEN
            out := out || c;
            i := i + 1;
            CONTINUE;
        END IF;
        c := substr(fmt, i + 1, 1);
        i := i + 2;
        yday := extract(doy FROM ts)::int - 1;
        wday := extract(dow FROM ts)::int;
        out := out || CASE c
            WHEN 'Y' THEN to_char(ts, 'YYYY')
            WHEN 'm' THEN to_char(ts, 'MM')
            WHEN 'd' THEN to_char(ts, 'DD')
            WHEN 'e' THEN lpad(extract(day FROM ts)::int::text, 2, ' ')
            WHEN 'H' THEN to_char(ts, 'HH24')
            WHEN 'k' THEN lpad(extract(hour FROM ts)::int::text, 2, ' ')
            WHEN 'I' THEN to_char(ts, 'HH12')
            WHEN 'l' THEN lpad(to_char(ts, 'FMHH12'), 2, ' ')
            WHEN 'p' THEN to_char(ts, 'AM')
            WHEN 'P' THEN lower(to_char(ts, 'AM'))
            WHEN 'M' THEN to_char(ts, 'MI')
            WHEN 'S' THEN to_char(ts, 'SS')
            WHEN 'f' THEN to_char(ts, 'SS.MS')
            WHEN 'j' THEN to_char(ts, 'DDD')
            WHEN 'w' THEN wday::text
            WHEN 'u' THEN extract(isodow FROM ts)::int::text
            WHEN 'W' THEN lpad(((yday + 7 - ((wday + 6) % 7)) / 7)::text, 2, '0')
            WHEN 'U' THEN lpad(((yday + 7 - wday) / 7)::text, 2, '0')
            WHEN 'V' THEN to_char(ts, 'IW')
            WHEN 'G' THEN to_char(ts, 'IYYY')
            WHEN 'g' THEN to_char(ts, 'IY')
            WHEN 's' THEN floor(extract(epoch FROM ts))::bigint::text
            WHEN 'J' THEN (extract(epoch FROM ts) / 86400.0 + 2440587.5)::text
            WHEN 'F' THEN to_char(ts, 'YYYY-MM-DD')
            WHEN 'T' THEN to_char(ts, 'HH24:MI:SS')
            WHEN 'R' THEN to_char(ts, 'HH24:MI')
            WHEN '%' THEN '%'
            ELSE NULL END;
        IF out IS NULL THEN
            RETURN NULL;
        END IF;
    END LOOP;
    RETURN out;
END $f$;

CREATE OR REPLACE FUNCTION strftime(fmt text, t text) RETURNS text LANGUAGE sql STABLE AS $f$
    SELECT strftime(fmt, t, VARIADIC '{}'::text[])
$f$;

CREATE OR REPLACE FUNCTION strftime(fmt text) RETURNS text LANGUAGE sql STABLE AS $f$
    SELECT strftime(fmt, 'now', VARIADIC '{}'::text[])
$f$;
"""


def function_statements() -> list[str]:
    """``FUNCTIONS`` cut into statements (dollar-quoted bodies hold semicolons)."""
    statements: list[str] = []
    current: list[str] = []
    for line in FUNCTIONS.strip().splitlines():
        current.append(line)
        stripped = line.strip()
        closed = sum(part.count("$f$") for part in current) % 2 == 0
        if stripped.endswith("$f$;") and closed:
            statements.append("\n".join(current).rstrip(";"))
            current = []
    return statements
