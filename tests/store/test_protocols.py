"""Both stores implement every member of the protocols their callers use.

Callers never probe a store or its dialect for a member (``getattr(x, "m", None)``),
so a member missing from one backend would fail only when that backend is used.
These tests read the members from the protocols themselves, so a member added
to a protocol fails here until both backends have it. (mypy checks the same
through the typed assignments below and in each store's constructor.)
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from keelbase.core.dialect import Dialect
from keelbase.core.fields import Storage
from keelbase.core.filter.compiler import Resolved
from keelbase.store import postgres, sqlite
from keelbase.store.base import Connection, Store
from keelbase.store.postgres import PgStore
from keelbase.store.postgres_dialect import PostgresDialect
from keelbase.store.sqlite import SqliteStore
from keelbase.store.sqlite_dialect import SqliteDialect

# Never connected to: the stores are only built, not opened.
PG_URL = "postgresql://127.0.0.1:5432/keelbase_unused"


def members(protocol: type) -> list[str]:
    """The attributes and methods a protocol declares."""
    names = set(getattr(protocol, "__annotations__", {}))
    names.update(name for name in vars(protocol) if not name.startswith("_"))
    return sorted(names)


def stores(tmp_path: Path) -> list[Store]:
    return [SqliteStore(tmp_path / "data.db"), PgStore(PG_URL)]


def assert_implements(protocol: type, implementation: Any) -> None:
    missing = [name for name in members(protocol) if not hasattr(implementation, name)]
    assert not missing, f"{implementation!r} lacks {protocol.__name__} members {missing}"
    for name in members(protocol):
        declared = vars(protocol).get(name)
        if not inspect.isfunction(declared):
            continue
        provided = getattr(implementation, name)
        assert callable(provided), f"{implementation!r}.{name} is not callable"
        want = list(inspect.signature(declared).parameters)[1:]  # without self
        have = list(inspect.signature(provided).parameters)
        if inspect.isclass(implementation):
            have = have[1:]
        assert have == want, f"{implementation!r}.{name}{have} differs from the protocol's {want}"


def test_members_are_read_from_the_protocols() -> None:
    """The checks below are only as good as this list: it must see the members."""
    assert {"name", "quote", "coerce", "typed_value", "view_query", "select_rows"} <= set(
        members(Dialect)
    )
    assert {"dialect", "read", "transaction", "forget_statements"} <= set(members(Store))
    assert {"fetch_all", "execute", "on_commit"} <= set(members(Connection))


def test_each_stores_dialect_provides_every_dialect_member(tmp_path: Path) -> None:
    for store in stores(tmp_path):
        assert_implements(Dialect, store.dialect)


def test_each_store_provides_every_store_member(tmp_path: Path) -> None:
    for store in stores(tmp_path):
        assert_implements(Store, store)


@pytest.mark.parametrize("link", [sqlite._Link, postgres._Link])
def test_each_stores_connection_provides_every_connection_member(link: type) -> None:
    assert_implements(Connection, link)


def test_the_stores_satisfy_the_protocols_for_mypy(tmp_path: Path) -> None:
    dialects: list[Dialect] = [SqliteDialect(), PostgresDialect()]
    built: list[Store] = [SqliteStore(tmp_path / "data.db"), PgStore(PG_URL)]
    assert [d.name for d in dialects] == [s.dialect.name for s in built]


def test_sqlites_answers_leave_the_sql_as_it_is(tmp_path: Path) -> None:
    dialect = SqliteDialect()
    left, right = Resolved('"t"."n"', kind="number"), Resolved(":p0", kind="text")
    assert dialect.coerce("=", left, right) == ('"t"."n"', ":p0", "''")
    assert dialect.comparison_operator("IS NOT") == "IS NOT"
    assert dialect.typed_value(":p0", Storage.NUMBER) == ":p0"
    assert dialect.view_query("SELECT id AS maxViews FROM t") == "SELECT id AS maxViews FROM t"
    SqliteStore(tmp_path / "data.db").forget_statements()
