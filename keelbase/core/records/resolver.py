"""Maps filter identifiers on records to SQL: fields, relation paths and ``@`` names.

This is the ``Resolver`` the filter compiler asks. It follows PocketBase's
semantics: relation hops are LEFT JOINs (so a list query becomes DISTINCT),
multi-valued hops also build a correlated subquery for "every item" matching,
``@request.*`` values are bound parameters, and ``@collection.*`` is a join on
the whole collection.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.indexes import has_single_unique_index
from keelbase.core.collections.schema import Schema
from keelbase.core.collections.search import search_index_name
from keelbase.core.dates import format_datetime
from keelbase.core.dialect import Dialect
from keelbase.core.fields import (
    Field,
    FileField,
    JsonField,
    NumberField,
    RelationField,
    SelectField,
    Storage,
)
from keelbase.core.fields.geopoint import GeoPointField
from keelbase.core.filter import parse
from keelbase.core.filter.compiler import (
    MultiMatch,
    NullFallback,
    Params,
    Resolved,
    compile_filter,
)
from keelbase.core.filter.errors import FilterError
from keelbase.core.request_info import RequestInfo

MAX_RELATION_DEPTH = 6
# SQLite joins at most 64 tables; stay well below, and answer with a clear error.
MAX_JOINS = 40
MODIFIERS = frozenset({"isset", "each", "length", "lower", "changed"})
_PLAIN = re.compile(r"^\w+[\w.:]*$")
_BACK_RELATION = re.compile(r"^(\w+)_via_(\w+)$")
_STATIC_AUTH_FIELDS = frozenset(
    {"id", "collectionId", "collectionName", "email", "emailVisibility", "verified"}
)
_MULTI_TYPES = (SelectField, FileField, RelationField)
_KINDS = {
    Storage.TEXT: "text",
    Storage.NUMBER: "number",
    Storage.BOOL: "bool",
    Storage.JSON: "jsontext",  # a column holds JSON text; a json path yields "json" values
    Storage.JSON_ARRAY: "jsontext",
    Storage.GEO: "jsontext",
}
Walked = tuple[str, NullFallback, "Callable[[str], str] | None", bool, str]

# Characters PocketBase strips from a JSON path key (its ``inflector.Columnify``).
_JSON_KEY_DROP = re.compile(r"[^\w.*\-@#]+", re.ASCII)


@dataclass
class _Walk:
    """Where a path walk stands: the collection, its alias and whether items multiply."""

    collection: Collection
    alias: str
    multi: bool = False


def _split_modifier(last: str) -> tuple[str, str]:
    name, _, modifier = last.partition(":")
    if modifier and modifier not in MODIFIERS:
        raise FilterError(f"unknown modifier {modifier!r}")
    if ":" in modifier:
        raise FilterError(f"invalid modifier sequence in {last!r}")
    return name, modifier


def macro_values(now: datetime | None = None) -> dict[str, Any]:
    """The date macros, all in UTC."""
    now = now or datetime.now(UTC)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month_start = day_start.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    year_start = month_start.replace(month=1)
    end = timedelta(milliseconds=1)
    return {
        "@now": format_datetime(now),
        "@yesterday": format_datetime(now - timedelta(days=1)),
        "@tomorrow": format_datetime(now + timedelta(days=1)),
        "@todayStart": format_datetime(day_start),
        "@todayEnd": format_datetime(day_start + timedelta(days=1) - end),
        "@monthStart": format_datetime(month_start),
        "@monthEnd": format_datetime(next_month - end),
        "@yearStart": format_datetime(year_start),
        "@yearEnd": format_datetime(year_start.replace(year=year_start.year + 1) - end),
        "@second": now.second,
        "@minute": now.minute,
        "@hour": now.hour,
        "@weekday": (now.weekday() + 1) % 7,
        "@day": now.day,
        "@month": now.month,
        "@year": now.year,
    }


class RecordResolver:
    """Resolves identifiers of one collection's filters and rules.

    ``joins`` collects the JOIN clauses the query needs, in order; ``params``
    the bound values. ``allow_hidden`` is false for a non-superuser's own
    filter and sort, true for rules. ``restrict_joins`` applies the list rule
    of every collection a non-superuser's filter reaches through a relation.
    """

    def __init__(
        self,
        schema: Schema,
        collection: Collection,
        dialect: Dialect,
        request: RequestInfo | None = None,
        *,
        params: Params | None = None,
        allow_hidden: bool = True,
        restrict_joins: bool = False,
        table: str | None = None,
        base_alias: str | None = None,
    ) -> None:
        self.schema = schema
        self.collection = collection
        self.dialect = dialect
        self.request = request
        self.params = params or Params()
        self.allow_hidden = allow_hidden
        self.restrict_joins = restrict_joins
        self.table = table or dialect.quote(collection.name)
        self.base_alias = base_alias or collection.name
        self.joins: dict[str, str] = {}
        # join alias -> the condition its row must meet (the related collection's list
        # rule, for a non-superuser's filter or sort): ANDed into the WHERE, see _restrict.
        self.join_checks: dict[str, str] = {}
        self._macros: dict[str, Any] | None = None
        self._visibility: dict[str, str] = {}  # email column SQL -> its visibility condition
        # search() is for a list's own filter only (rules and realtime checks have no index)
        self.search_allowed = False
        self._rank_query: str | None = None  # the first search()'s bound words, for @rank
        self.rank_join = ""  # what a select sorted by @rank joins, see resolve_rank

    # Helpers ----------------------------------------------------------------

    def q(self, identifier: str) -> str:
        return self.dialect.quote(identifier)

    def column(self, alias: str, name: str) -> str:
        return f"{self.q(alias)}.{self.q(name)}"

    def value(self, value: Any) -> Resolved:
        name = self.params.add(value)
        kind = "number" if isinstance(value, int | float) else "text"
        return Resolved(name, [name[1:]], is_value=True, kind=kind)

    @property
    def has_joins(self) -> bool:
        return bool(self.joins)

    def join_sql(self) -> str:
        return " ".join(self.joins.values())

    # Entry points -----------------------------------------------------------

    def resolve_macro(self, name: str) -> Resolved | None:
        if self._macros is None:
            self._macros = macro_values()
        if name not in self._macros:
            return None
        return self.value(self._macros[name])

    def resolve(self, name: str) -> Resolved:
        if name.startswith("@request."):
            return self.resolve_request(name[len("@request.") :])
        if name.startswith("@collection."):
            return self.resolve_collection(name)
        if name.startswith("@"):
            raise FilterError(f'failed to resolve field "{name}"')
        if not _PLAIN.match(name) or name.endswith((".", ":")):
            raise FilterError(f'failed to resolve field "{name}"')
        props = name.split(".")
        start = _Walk(self.collection, self.base_alias)
        return self.resolve_path(start, props, lambda prefix, joins: None)

    # Full-text search ---------------------------------------------------------

    def resolve_search(self, field: str | None, words: tuple[str, ...]) -> str:
        collection = self.collection
        if not self.search_allowed:
            raise FilterError("[search] works only in a list's filter")
        if not collection.search:
            raise FilterError(
                f'[search] collection "{collection.name}" has no searchable fields (search.fields)'
            )
        if field is not None and field not in collection.search:
            raise FilterError(f'[search] field "{field}" is not searchable')
        query = self.params.add(self.dialect.search_query(words, field))
        if self._rank_query is None:
            self._rank_query = query
        index = search_index_name(collection)
        return self.dialect.search_match(
            self.q(self.base_alias), index, collection.search, field, query
        )

    def resolve_rank(self) -> str:
        """``@rank``: how well the record matches the filter's first ``search()``."""
        if self._rank_query is None:
            raise FilterError("sorting by @rank needs a search() in the filter")
        index = search_index_name(self.collection)
        rank_alias = "__rank_" + self.base_alias
        join, expression = self.dialect.search_rank(
            self.q(self.base_alias),
            index,
            self.collection.search,
            self._rank_query,
            self.q(rank_alias),
        )
        # One row per record (not in ``joins``): a count or DISTINCT does without it.
        self.rank_join = join
        return expression

    # Plain and relation paths -------------------------------------------------

    def resolve_path(
        self,
        start: _Walk,
        props: list[str],
        start_join: Callable[[str, dict[str, str]], None],
        force_multi: bool = False,
    ) -> Resolved:
        """Walk ``props`` from ``start``; build the multi-match subquery when items multiply."""
        start_join("", self.joins)
        sql, fallback, after, multi, kind = self._walk(start, props, self.joins)
        resolved = Resolved(sql, null_fallback=fallback, after_build=after, kind=kind)
        if after is not None:
            resolved.guarded = self._guarded_email(sql)
        if len(self.joins) > MAX_JOINS:
            raise FilterError(f"too many relation paths in one filter (at most {MAX_JOINS} joins)")
        if multi or force_multi:
            mm_joins: dict[str, str] = {}
            mm_base = "__mm_" + self.base_alias
            start_join("__mm_", mm_joins)
            mm_start = _Walk(start.collection, ("__mm_" + start.alias))
            mm_sql, _, mm_after, _, _ = self._walk(mm_start, props, mm_joins)
            if mm_after is not None:
                # a hidden email is no item at all, so no comparison can learn it
                mm_sql = self._guarded_email(mm_sql)
            resolved.multi = MultiMatch(
                f"SELECT {mm_sql} AS mmv FROM {self.table} {self.q(mm_base)} "
                f"{' '.join(mm_joins.values())} "
                f"WHERE {self.column(mm_base, 'id')} = {self.column(self.base_alias, 'id')}"
            )
        return resolved

    def _walk(
        self,
        walk: _Walk,
        props: list[str],
        joins: dict[str, str],
    ) -> Walked:
        if len(props) > MAX_RELATION_DEPTH + 1:
            raise FilterError(f"max nested relations reached for field {'.'.join(props)!r}")
        for index, raw_prop in enumerate(props):
            last = index == len(props) - 1
            prop, modifier = _split_modifier(raw_prop) if last else (raw_prop, "")
            if ":" in raw_prop and not last:
                raise FilterError(f"modifiers are allowed only at the end of {'.'.join(props)!r}")
            field = walk.collection.field(prop)
            if field is None:
                back = _BACK_RELATION.match(prop)
                if back:
                    walk = self._join_back_relation(walk, prop, back, joins)
                    if last:
                        return self._finish_column(walk, "id", None, modifier, walk.multi)
                    continue
                raise FilterError(f'unknown field "{prop}"')
            self._check_hidden(walk.collection, field)
            if last:
                return self._finish_column(walk, prop, field, modifier, walk.multi, joins)
            if isinstance(field, JsonField | GeoPointField):
                return self._json_path(walk, field, props[index + 1 :])
            if not isinstance(field, RelationField):
                raise FilterError(f'field "{prop}" is not a valid relation')
            # `rel.id` on a single relation needs no join.
            if not field.multiple and index + 1 == len(props) - 1 and props[-1] == "id":
                return self._finish_column(walk, prop, field, "", walk.multi, joins)
            walk = self._join_relation(walk, field, joins)
        raise FilterError("empty field path")

    def _check_hidden(self, collection: Collection, field: Field) -> None:
        if field.hidden and not self.allow_hidden:
            raise FilterError(f'non-filterable field "{field.name}"')

    def _finish_column(
        self,
        walk: _Walk,
        prop: str,
        field: Field | None,
        modifier: str,
        multi: bool,
        joins: dict[str, str] | None = None,
    ) -> Walked:
        sql = self.column(walk.alias, prop)
        kind = _KINDS[field.storage_kind] if field is not None else "text"
        fallback = NullFallback.AUTO
        after: Callable[[str], str] | None = None
        if modifier in ("isset", "changed"):
            raise FilterError(f"the :{modifier} modifier works only with @request.body fields")
        if modifier == "length":
            if not isinstance(field, _MULTI_TYPES):
                raise FilterError(f"field {prop!r} doesn't support :length")
            return self.dialect.json_array_length(sql), fallback, None, multi, "number"
        if modifier == "each":
            if not isinstance(field, _MULTI_TYPES):
                raise FilterError(f"field {prop!r} doesn't support multivalue operations")
            assert joins is not None
            je = f"{walk.alias}_{prop}_je"
            joins.setdefault(je, self.dialect.json_each_join(sql, self.q(je)))
            sql = f"{self.q(je)}.value"
            kind = "text"
            multi = multi or field.multiple
        if isinstance(field, JsonField):
            fallback = NullFallback.DISABLED
        if modifier == "lower":
            sql = self.dialect.lower(sql)
            kind = "text"
        if (
            field is not None
            and field.name == "email"
            and walk.collection.is_auth
            and not self.allow_hidden
        ):
            visible = f"{self.column(walk.alias, 'emailVisibility')} = TRUE"
            self._visibility[sql] = visible
            after = lambda expr: f"(({expr}) AND ({visible}))"  # noqa: E731
        return sql, fallback, after, multi, kind

    def _guarded_email(self, sql: str) -> str:
        """The email where its owner made it visible, NULL otherwise."""
        return f"(CASE WHEN {self._visibility[sql]} THEN {sql} END)"

    def _json_path(self, walk: _Walk, field: Field, rest: list[str]) -> Walked:
        path = "$"
        for part in rest:
            # As PocketBase (``inflector.Columnify``): a key keeps only identifier characters,
            # so ``meta.arr:each`` reads the key ``arreach`` (a modifier is no modifier here).
            name = _JSON_KEY_DROP.sub("", part)
            path += f"[{name}]" if name.isdigit() else f".{name}"
        path_sql = self.params.add(path)
        sql = self.dialect.json_extract(self.column(walk.alias, field.name), path_sql)
        return sql, NullFallback.DISABLED, None, walk.multi, "json"

    def _join_relation(self, walk: _Walk, field: RelationField, joins: dict[str, str]) -> _Walk:
        target = self.schema.by_id(field.collectionId)
        if target is None:
            raise FilterError(f"missing relation collection of field {field.name!r}")
        alias = f"{walk.alias}_{field.name}"
        source = self.column(walk.alias, field.name)
        restriction = self._restrict(target, alias, joins)
        if field.multiple:
            je = alias + "_je"
            joins.setdefault(je, self.dialect.json_each_join(source, self.q(je)))
            on = f"{self.column(alias, 'id')} = {self.q(je)}.value"
        else:
            on = f"{self.column(alias, 'id')} = {source}"
        joins.setdefault(
            alias, f"LEFT JOIN {self.q(target.name)} {self.q(alias)} ON {on}{restriction}"
        )
        return _Walk(target, alias, walk.multi or field.multiple)

    def _join_back_relation(
        self, walk: _Walk, prop: str, match: re.Match[str], joins: dict[str, str]
    ) -> _Walk:
        target = self.schema.get(match.group(1))
        if target is None:
            raise FilterError(f"failed to load back relation field {prop!r} collection")
        field = target.field(match.group(2))
        if not isinstance(field, RelationField):
            raise FilterError(f"invalid back relation field {prop!r}")
        if field.collectionId != walk.collection.id:
            raise FilterError(f"invalid collection reference of a back relation field {prop!r}")
        if field.hidden and not self.allow_hidden:
            raise FilterError(f"non-filterable back relation field {prop!r}")
        alias = f"{walk.alias}_{prop}"
        restriction = self._restrict(target, alias, joins)
        own_id = self.column(walk.alias, "id")
        back_column = self.column(alias, field.name)
        if field.multiple:
            je = self.q(alias + "_je")
            on = f"{own_id} IN (SELECT {je}.value FROM {self.dialect.json_each(back_column)} {je})"
        else:
            on = f"{back_column} = {own_id}"
        joins.setdefault(
            alias, f"LEFT JOIN {self.q(target.name)} {self.q(alias)} ON {on}{restriction}"
        )
        one_to_one = not field.multiple and has_single_unique_index(target.indexes, field.name)
        return _Walk(target, alias, walk.multi or not one_to_one)

    def _restrict(self, target: Collection, alias: str, joins: dict[str, str]) -> str:
        """The list rule of a collection a non-superuser reaches through a relation.

        In the query's own joins, as PocketBase: a row joined to a related record
        the caller may not list is dropped (the rule goes into the WHERE; a row
        with no related record stays). Inside a multi-match subquery the hidden
        record is not joined at all (the rule goes into its ON), so nothing about
        it is compared either way.
        """
        if joins is not self.joins:
            return self._join_restriction(target, alias)
        check = self._join_restriction(target, alias)
        if check:
            rule = check.removeprefix(" AND ")
            self.join_checks.setdefault(alias, f"({self.column(alias, 'id')} IS NULL OR {rule})")
        return ""

    def _join_restriction(self, target: Collection, alias: str) -> str:
        """For a non-superuser's filter: rows of ``target`` they may not list are not joined."""
        if not self.restrict_joins:
            return ""
        rule = target.listRule
        if rule is None:
            raise FilterError(
                f'"{target.name}" fields can be accessed only by superusers '
                "(the collection's list rule is locked)"
            )
        if rule == "":
            return ""
        return " AND " + self.subquery_rule(target, rule, alias)

    def subquery_rule(self, target: Collection, rule: str, alias: str) -> str:
        """``EXISTS`` the row ``alias`` of ``target`` passing ``rule``, with its own joins."""
        n = self.params.unique_suffix()
        inner_alias = f"__rule{n}_{target.name}"
        inner = RecordResolver(
            self.schema,
            target,
            self.dialect,
            self.request,
            params=self.params,
            allow_hidden=True,
            base_alias=inner_alias,
        )
        expr = parse(rule)
        condition = compile_filter(expr, inner) if expr is not None else "1=1"
        return (
            f"EXISTS (SELECT 1 FROM {self.q(target.name)} {self.q(inner_alias)} "
            f"{inner.join_sql()} WHERE {self.column(inner_alias, 'id')} = "
            f"{self.column(alias, 'id')} AND {condition})"
        )

    # @collection ---------------------------------------------------------------

    def resolve_collection(self, name: str) -> Resolved:
        parts = name.split(".")
        if len(parts) < 3:
            raise FilterError(f"invalid @collection field path in {name!r}")
        collection_name, _, alias_name = parts[1].partition(":")
        target = self.schema.get(collection_name)
        if target is None:
            raise FilterError(
                f"failed to load collection {collection_name!r} from field path {name!r}"
            )
        join_alias = (
            f"__collection_alias_{alias_name}" if alias_name else f"__collection_{target.name}"
        )

        def start(prefix: str, joins: dict[str, str]) -> None:
            alias = prefix + join_alias
            if alias not in joins:
                restriction = self._join_restriction(target, alias)
                joins[alias] = (
                    f"LEFT JOIN {self.q(target.name)} {self.q(alias)} ON 1=1{restriction}"
                )

        saved, self.allow_hidden = self.allow_hidden, True
        try:
            return self.resolve_path(_Walk(target, join_alias), parts[2:], start, force_multi=True)
        finally:
            self.allow_hidden = saved

    # @request ------------------------------------------------------------------

    def resolve_request(self, rest: str) -> Resolved:
        request = self.request or RequestInfo()
        if rest == "context":
            return self.value(request.context)
        if rest == "method":
            return self.value(request.method)
        head, _, path = rest.partition(".")
        if not path:
            raise FilterError(f"failed to resolve field '@request.{rest}'")
        if head == "query":
            return self.static_path(request.query, path)
        if head == "headers":
            return self.static_path(request.headers, path)
        if head == "body":
            return self.resolve_body(request, path)
        if head == "auth":
            return self.resolve_auth(request, path)
        raise FilterError(f"failed to resolve field '@request.{rest}'")

    def static_path(self, data: Any, path: str, number_hint: bool = False) -> Resolved:
        props = path.split(".")
        last, modifier = _split_modifier(props[-1])
        props[-1] = last
        if modifier not in ("", "isset", "lower"):
            raise FilterError(f"invalid modifier sequence {path!r}")
        exists = True
        value: Any = data
        for prop in props:
            if isinstance(value, dict) and prop in value:
                value = value[prop]
            elif isinstance(value, list) and prop.isdigit() and int(prop) < len(value):
                value = value[int(prop)]
            else:
                exists, value = False, None
                break
        if modifier == "isset":
            return Resolved(
                "TRUE" if exists else "FALSE",
                raw_literal="TRUE" if exists else "FALSE",
                kind="bool",
            )
        return self.static_value(value, lower=modifier == "lower", number_hint=number_hint)

    def static_value(self, value: Any, lower: bool = False, number_hint: bool = False) -> Resolved:
        if value is None:
            return Resolved("NULL", raw_literal="NULL", is_value=True, kind="null")
        if isinstance(value, list | dict):
            value = orjson.dumps(value, default=str).decode()
        elif isinstance(value, bool):
            value = 1 if value else 0
        elif isinstance(value, int) and not -(2**63) <= value < 2**63:
            value = float(value)  # SQLite integers are 64-bit
        elif not isinstance(value, str | int | float):
            value = str(getattr(value, "filename", None) or value)  # e.g. an upload
        elif isinstance(value, str) and number_hint:
            with contextlib.suppress(ValueError):
                value = float(value)
        resolved = self.value(value)
        if lower:
            resolved.sql = self.dialect.lower(resolved.sql)
        return resolved

    def resolve_body(self, request: RequestInfo, path: str) -> Resolved:
        body = request.body
        props = path.split(".")
        first, modifier = _split_modifier(props[0]) if len(props) == 1 else (props[0], "")
        field = self.collection.field(first)
        if field is None:
            return self.static_path(body, path)
        raw = body.get(first)
        if isinstance(field, RelationField) and len(props) > 1:
            ids = field.as_list(raw) if raw not in (None, "") else []
            if not ids:
                return Resolved("NULL", raw_literal="NULL", is_value=True, kind="null")
            target = self.schema.by_id(field.collectionId)
            if target is None:
                raise FilterError(f"missing relation collection of field {first!r}")
            join_alias = f"__data_{target.name}_{first}"
            placeholders = ", ".join(self.params.add(i) for i in ids)

            def start(prefix: str, joins: dict[str, str]) -> None:
                alias = prefix + join_alias
                joins.setdefault(
                    alias,
                    f"LEFT JOIN {self.q(target.name)} {self.q(alias)} "
                    f"ON {self.column(alias, 'id')} IN ({placeholders})",
                )

            return self.resolve_path(
                _Walk(target, join_alias), props[1:], start, force_multi=field.multiple
            )
        if modifier == "each":
            if not isinstance(field, _MULTI_TYPES):
                raise FilterError(f"field {first!r} doesn't support multivalue operations")
            items = field.as_list(raw) if raw not in (None, "") else []
            json_param = self.params.add(orjson.dumps(items).decode())
            je = f"__dataEach_{first}_je"
            self.joins.setdefault(je, self.dialect.json_each_join(json_param, self.q(je)))
            resolved = Resolved(f"{self.q(je)}.value", kind="text")
            if field.multiple:
                mm_je = "__mm" + je
                resolved.multi = MultiMatch(
                    f"SELECT {self.q(mm_je)}.value AS mmv FROM "
                    f"{self.dialect.json_each(json_param)} {self.q(mm_je)}"
                )
            return resolved
        if modifier == "length":
            if not isinstance(field, _MULTI_TYPES):
                raise FilterError(f"field {first!r} doesn't support :length")
            items = field.as_list(raw) if raw not in (None, "") else []
            return self.value(len(items))
        if modifier == "changed":
            return self.resolve_changed(first)
        return self.static_path(body, path, number_hint=isinstance(field, NumberField))

    def resolve_changed(self, name: str) -> Resolved:
        """``@request.body.f:changed``: sent, and different from the stored value."""
        expr = parse(f"@request.body.{name}:isset = true && @request.body.{name} != {name}")
        assert expr is not None
        return Resolved(
            compile_filter(expr, self), null_fallback=NullFallback.DISABLED, kind="bool"
        )

    def resolve_auth(self, request: RequestInfo, path: str) -> Resolved:
        auth = request.auth
        if auth is None:
            return Resolved("NULL", raw_literal="NULL", is_value=True, kind="null")
        props = path.split(".")
        first, _ = _split_modifier(props[0])
        if len(props) == 1 and first in _STATIC_AUTH_FIELDS:
            data = {
                **auth.data,
                "collectionId": auth.collection.id,
                "collectionName": auth.collection.name,
            }
            return self.static_path(data, path)
        join_alias = f"__auth_{auth.collection.name}"
        auth_id = self.params.add(auth.id)

        def start(prefix: str, joins: dict[str, str]) -> None:
            alias = prefix + join_alias
            joins.setdefault(
                alias,
                f"LEFT JOIN {self.q(auth.collection.name)} {self.q(alias)} "
                f"ON {self.column(alias, 'id')} = {auth_id}",
            )

        saved, self.allow_hidden = self.allow_hidden, True
        try:
            return self.resolve_path(_Walk(auth.collection, join_alias), props, start)
        finally:
            self.allow_hidden = saved
