"""``keelbase migrations create|up|down|status|collections|history-sync``.

The work is in ``keelbase.services.migrations``; this module reads the command
line, opens the app on the right store and turns every failure into an
``Error: ...`` line (with the migration's traceback where there is one) and
exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from keelbase.config import Config, env_default

if TYPE_CHECKING:
    from keelbase.app import App


def migrations_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--migrationsDir",
        dest="migrations_dir",
        default=env_default("MIGRATIONS_DIR"),
        help="the migration files (default ./kb_migrations beside the data folder, "
        "env KEELBASE_MIGRATIONS_DIR)",
    )


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrations = commands.add_parser("migrations", help="schema migrations as Python files")
    actions = migrations.add_subparsers(dest="action", metavar="ACTION", required=True)

    def place(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--dir",
            default=env_default("DIR", "kb_data"),
            help="the data folder (default ./kb_data, env KEELBASE_DIR)",
        )
        parser.add_argument(
            "--db",
            default=env_default("DB_URL"),
            help="postgresql://... URL of the database (default: SQLite in the data folder)",
        )
        migrations_dir_argument(parser)

    create = actions.add_parser("create", help="write a new blank migration file")
    create.add_argument("name", help="what it does, e.g. add_tags (becomes TIMESTAMP_add_tags.py)")
    place(create)
    place(actions.add_parser("up", help="apply every pending migration"))
    down = actions.add_parser("down", help="revert the last N applied migrations")
    down.add_argument("count", nargs="?", default="1", help="how many (default 1)")
    place(down)
    place(actions.add_parser("status", help="list the migrations, applied and pending"))
    place(
        actions.add_parser(
            "collections", help="write a migration that recreates the current collections"
        )
    )
    place(
        actions.add_parser(
            "history-sync", help="forget applied migrations whose files were deleted"
        )
    )


def run(args: argparse.Namespace) -> int:
    from keelbase.services.migrations.files import MigrationError
    from keelbase.store.base import StoreError

    try:
        return asyncio.run(_run(args))
    except (MigrationError, StoreError, OSError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace) -> int:
    from keelbase.app import App
    from keelbase.services.migrations.files import MigrationError

    count = 1
    if args.action == "down":
        try:
            count = int(args.count)
        except ValueError:
            raise MigrationError(f"down takes a number of migrations, not {args.count!r}") from None
        if count < 1:
            raise MigrationError(f"down takes a number of migrations of 1 or more, not {count}")
    config = Config(
        data_dir=Path(args.dir),
        db_url=args.db or "",
        migrations_dir=Path(args.migrations_dir) if args.migrations_dir else None,
    )
    app = App(config)
    if args.action == "create":  # a file only: the database is not needed
        path = app.migrations.create(args.name)
        print(f"Created {path}")
        return 0
    await app.start()
    try:
        return await _act(app, args.action, count)
    finally:
        await app.stop()


async def _act(app: App, action: str, count: int) -> int:
    runner = app.migrations
    if action == "up":
        applied = await runner.up()
        for name in applied:
            print(f"Applied {name}")
        if not applied:
            print("No new migrations to apply.")
    elif action == "down":
        reverted = await runner.down(count)
        for name in reverted:
            print(f"Reverted {name}")
        if not reverted:
            print("No applied migrations to revert.")
    elif action == "status":
        states = await runner.status()
        for state in states:
            when = _time(state.applied) if state.applied is not None else ""
            note = (
                "  (its file is gone: keelbase migrations history-sync)"
                if state.state == "missing"
                else ""
            )
            print(f"{state.state:<8} {when:<20} {state.file}{note}")
        if not states:
            print(f"No migrations in {runner.folder}.")
    elif action == "collections":
        path = await runner.snapshot()
        print(f"Created {path} (recorded as applied here)")
    elif action == "history-sync":
        dropped = await runner.history_sync()
        for name in dropped:
            print(f"Forgot {name}")
        print(f"History synced: {len(dropped)} record(s) of deleted files dropped.")
    return 0


def _time(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1_000_000, UTC).strftime("%Y-%m-%d %H:%M:%S")
