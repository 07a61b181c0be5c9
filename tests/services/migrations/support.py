"""Helpers for the migration tests: apps with a migrations folder on the test's store, files, checks."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from keelbase import App, Config
from tests.pg import fresh_database


def make_app(data_dir: Path, db_url: str, migrations: Path, **options: Any) -> App:
    return App(Config(data_dir=data_dir, db_url=db_url, migrations_dir=migrations, **options))


@contextmanager
def another_database(db_url: str) -> Iterator[str]:
    """A second empty database on the same kind of store ("" for SQLite: a new data folder)."""
    if not db_url:
        yield ""
        return
    with fresh_database() as url:
        yield url


def write(folder: Path, file: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file
    path.write_text(textwrap.dedent(source))
    return path


def schema_json(app: App) -> dict[str, dict[str, Any]]:
    """Every collection as the API shows it, without its timestamps."""
    out: dict[str, dict[str, Any]] = {}
    for collection in app.collections.schema:
        data = collection.to_json()
        data.pop("created")
        data.pop("updated")
        out[collection.id] = data
    return out


async def table_names(app: App) -> set[str]:
    """The tables and views really in the database (not just in ``_collections``)."""
    async with app.store.read() as conn:
        if app.config.uses_postgres:
            rows = await conn.fetch_all(
                "SELECT table_name AS name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        else:
            rows = await conn.fetch_all(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            )
    return {str(row["name"]) for row in rows}


async def applied_files(app: App) -> list[str]:
    async with app.store.read() as conn:
        rows = await conn.fetch_all('SELECT "file" FROM "_migrations" ORDER BY "file"')
    return [str(row["file"]) for row in rows]
