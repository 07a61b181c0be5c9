"""``keelbase backup create [NAME] | list | restore NAME``: backups while the server is down.

The same service as ``/api/backups`` does the work, on the app opened from
``--dir``/``--db``; every failure is one ``Error: ...`` line and exit code 1.
Run ``restore`` only with the server stopped: a running server on SQLite
would keep serving from its own caches until it restarts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from keelbase.config import Config, env_default

if TYPE_CHECKING:
    from keelbase.app import App


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = commands.add_parser("backup", help="create, list or restore backups")
    backup.add_argument(
        "--dir",
        default=env_default("DIR", "kb_data"),
        help="the data folder (default ./kb_data, env KEELBASE_DIR)",
    )
    backup.add_argument(
        "--db",
        default=env_default("DB_URL"),
        help="postgresql://... URL of the database (default: SQLite in the data folder)",
    )
    actions = backup.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="write and check a new backup")
    create.add_argument("name", nargs="?", default="", help="e.g. before_upgrade.zip")
    actions.add_parser("list", help="the backups, newest first")
    restore = actions.add_parser("restore", help="replace the app's data with a backup")
    restore.add_argument("name", help="the backup's name, as listed")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from keelbase.services.backups.service import BackupBusy, BackupFailed
    from keelbase.store.base import StoreError

    try:
        return asyncio.run(_run(args))
    except (BackupFailed, BackupBusy, StoreError, ValueError) as error:
        print(f"Error: {error}", file=sys.stderr)
    except OSError as error:
        print(f"Error: {error.strerror or error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr)
    except Exception as error:  # a command line tool answers with one line, never a traceback
        print(f"Error: unexpected failure ({type(error).__name__}): {error}", file=sys.stderr)
    return 1


def _config(args: argparse.Namespace) -> Config:
    config = Config(data_dir=Path(args.dir), db_url=args.db or "")
    if args.db and not config.uses_postgres:
        raise ValueError(f"unsupported database URL {args.db!r} (postgresql://... expected)")
    if not config.uses_postgres and not config.db_path.is_file():
        raise ValueError(f"no Keelbase app in {config.data_dir} (it has no data.db)")
    return config


async def _run(args: argparse.Namespace) -> int:
    from keelbase.app import App

    app = App(_config(args))
    await app.start()
    try:
        return await _act(app, args)
    finally:
        await app.stop()


async def _act(app: App, args: argparse.Namespace) -> int:
    from keelbase.adapters.blobs import BlobNotFound
    from keelbase.services.backups import names
    from keelbase.services.backups.service import BackupFailed, modified_string

    backups = app.backups
    if args.action == "list":
        found = sorted(await backups.all(), key=lambda b: b.modified, reverse=True)
        for item in found:
            print(f"{item.key}\t{item.size}\t{modified_string(item.modified)}")
        return 0
    if args.action == "create":
        name = args.name
        if name and (len(name) > names.NAME_MAX or not names.NAME.match(name)):
            raise ValueError(f"invalid backup name {name!r} (a-z, 0-9, _ and -, ending in .zip)")
        if name and await backups.info(name) is not None:
            raise ValueError(f"a backup named {name!r} exists already")
        name = name or backups.default_name()
        await backups.create(name)
        print(f"Backup {name} written and checked.")
        return 0
    if await backups.info(args.name) is None:
        raise ValueError(f"no backup named {args.name!r} (see: keelbase backup list)")
    try:
        await backups.restore(args.name)
    except BlobNotFound as error:
        raise BackupFailed(f"no backup named {args.name!r}") from error
    print(f"Restored {args.name}; the data it replaced was removed.")
    return 0
