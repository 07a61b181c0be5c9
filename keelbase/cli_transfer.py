"""``keelbase export``, ``keelbase import`` and ``keelbase migrate``: move a whole app.

The work is in ``keelbase.services.transfer`` (``service`` for Keelbase apps,
``pocketbase`` and ``files`` for a PocketBase data folder); this module reads
the command line, opens the app on the right store, prints progress on stderr
and turns every failure into one ``Error: ...`` line and exit code 1 (never a
traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from keelbase.config import Config, env_default

if TYPE_CHECKING:
    from keelbase.app import App


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the three commands to ``keelbase``'s sub-command parser."""

    def place(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--dir",
            default=argparse.SUPPRESS,
            help="the data folder (default ./kb_data, env KEELBASE_DIR)",
        )
        parser.add_argument(
            "--db",
            default=env_default("DB_URL"),
            help="postgresql://... URL of the database (default: SQLite in the data folder)",
        )

    export = commands.add_parser("export", help="write the whole app to an archive file")
    place(export)
    export.add_argument("archive", help="the archive file to write (e.g. app.kbapp.zip)")

    load = commands.add_parser("import", help="load an archive into an empty app")
    place(load)
    load.add_argument("archive", help="the archive file written by keelbase export")
    load.add_argument(
        "--replace",
        action="store_true",
        help="drop every collection and record of the target first (default: refuse unless empty)",
    )

    migrate = commands.add_parser(
        "migrate",
        help="move the app from one store to another (export + import), "
        "or bring a PocketBase data folder over",
    )
    migrate.add_argument(
        "--from",
        dest="source",
        required=True,
        help="data folder (Keelbase's or PocketBase's pb_data) or postgresql://... URL",
    )
    migrate.add_argument(
        "--to", dest="target", required=True, help="data folder or postgresql://... URL"
    )
    migrate.add_argument(
        "--dir",
        default=argparse.SUPPRESS,
        help="the data folder to use beside a database URL (for file storage)",
    )
    migrate.add_argument("--replace", action="store_true", help="as for import")
    migrate.add_argument(
        "--encryptionEnv",
        dest="encryption_env",
        # the global flag's value when not given here (``keelbase --encryptionEnv X migrate``)
        default=argparse.SUPPRESS,
        help="the environment variable holding the key PocketBase's settings are "
        "encrypted with (as given to pocketbase serve --encryptionEnv); the moved "
        "app's settings are encrypted with the same key",
    )


def run(args: argparse.Namespace) -> int:
    from keelbase.services.settings import SettingsKeyError
    from keelbase.services.transfer.service import TransferError
    from keelbase.store.base import StoreError

    try:
        if args.command == "export":
            return asyncio.run(_export(_config(args.dir, args.db), Path(args.archive)))
        if args.command == "import":
            return asyncio.run(
                _import(_config(args.dir, args.db), Path(args.archive), args.replace)
            )
        return asyncio.run(_migrate(args))
    except (TransferError, StoreError, SettingsKeyError) as error:
        print(f"Error: {error}", file=sys.stderr)
    except OSError as error:
        print(
            f"Error: {error.strerror or error}: {error.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
    except KeyboardInterrupt:
        print("Error: interrupted; nothing was changed", file=sys.stderr)
    except Exception as error:  # a command line tool answers with one line, never a traceback
        print(f"Error: unexpected failure ({type(error).__name__}): {error}", file=sys.stderr)
    return 1


def _config(data_dir: str, db: str | None) -> Config:
    from keelbase.services.transfer import pocketbase
    from keelbase.services.transfer.service import TransferError

    reason = pocketbase.refusal(Path(data_dir))
    if reason is not None and not db:
        raise TransferError(reason)
    # An export or import reads whole tables: no --queryTimeout for it.
    if not db:
        return Config(data_dir=Path(data_dir), query_timeout=0)
    config = Config(data_dir=Path(data_dir), db_url=db, query_timeout=0)
    if not config.uses_postgres:
        raise TransferError(f"unsupported database URL {db!r} (postgresql://... expected)")
    return config


def _side(value: str, data_dir: str) -> Config:
    """``--from``/``--to``: a database URL (with ``--dir`` for files) or a data folder."""
    if "://" in value:
        return _config(data_dir, value)
    return _config(value, None)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _is_url_config(config: Config) -> bool:
    return bool(config.db_url)


async def _with_app(config: Config, work: Callable[[App], Awaitable[None]]) -> None:
    from keelbase.app import App

    app = App(config)
    await app.start()
    try:
        await work(app)
    finally:
        await app.stop()


async def _export(config: Config, archive: Path) -> int:
    from keelbase.services.transfer import pocketbase
    from keelbase.services.transfer.service import TransferError, TransferService

    if not _is_url_config(config) and not config.db_path.is_file():
        raise TransferError(f"no Keelbase app in {config.data_dir} (it has no data.db)")
    if not _is_url_config(config) and not pocketbase.is_keelbase_folder(config.data_dir):
        raise TransferError(
            f"{config.data_dir} is not a Keelbase data folder (data.db has no _collections table)"
        )
    summary: dict[str, object] = {}

    async def work(app: App) -> None:
        summary.update(await TransferService(app.store, _progress).export(archive))

    await _with_app(config, work)
    print(f"Exported {_describe(summary)} to {archive}.")
    return 0


async def _import(config: Config, archive: Path, replace: bool, source: str | None = None) -> int:
    from keelbase.services.transfer.archive import ArchiveReader
    from keelbase.services.transfer.service import TransferService

    ArchiveReader(archive).close()  # a missing or broken archive fails before the target is touched
    summary: dict[str, object] = {}

    async def work(app: App) -> None:
        summary.update(await TransferService(app.store, _progress).import_(archive, replace))

    await _with_app(config, work)
    print(f"Imported {_describe(summary)} from {source or archive}; counts and checksums verified.")
    return 0


async def _migrate(args: argparse.Namespace) -> int:
    from keelbase.services.transfer import pocketbase

    if "://" not in args.source and pocketbase.is_pocketbase_folder(Path(args.source)):
        return await _migrate_pocketbase(args)
    source = _side(args.source, args.dir)
    target = _side(args.target, args.dir)
    with tempfile.TemporaryDirectory(prefix="keelbase-migrate-") as folder:
        archive = Path(folder) / "app.zip"
        await _export(source, archive)
        return await _import(target, archive, args.replace, args.source)


async def _migrate_pocketbase(args: argparse.Namespace) -> int:
    """A PocketBase folder into a Keelbase app: database copy, export, import, files, report.

    All or nothing: the files are staged beside the target and moved into its
    storage only after the records are imported and verified; on failure the
    staging goes, and a target folder this command created goes too.
    """
    from keelbase.services.transfer import files, pocketbase
    from keelbase.services.transfer.archive import ArchiveReader
    from keelbase.services.transfer.service import TransferError, TransferService
    from keelbase.store.sqlite import SqliteStore

    folder = pocketbase.inspect(Path(args.source))
    target = _side(args.target, args.dir)
    if target.data_dir.resolve() == folder.path.resolve():
        raise TransferError("--to must not be the PocketBase folder itself")
    key = None
    if args.encryption_env:
        key = os.environ.get(args.encryption_env)
        if not key:
            raise TransferError(f"the environment variable {args.encryption_env} is not set")
    existed = target.data_dir.exists()
    entries = set(os.listdir(target.data_dir)) if existed else set()
    staged: files.StagedFiles | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="keelbase-migrate-") as temp:
            copy = Path(temp) / "data.db"
            await asyncio.to_thread(pocketbase.snapshot, folder, copy, key)
            archive = Path(temp) / "app.zip"
            store = SqliteStore(copy)
            await store.open()
            try:
                manifest = await TransferService(store, _progress).export(archive)
            finally:
                await store.close()
            settings = manifest["params"].get(pocketbase.SETTINGS_KEY) or {}
            on_s3 = bool((settings.get("s3") or {}).get("enabled"))
            reader = ArchiveReader(archive)
            try:
                keys = [] if on_s3 else await asyncio.to_thread(files.named_files, reader)
            finally:
                reader.close()
            target.data_dir.mkdir(parents=True, exist_ok=True)
            staged = await asyncio.to_thread(files.stage, folder.storage, keys, target.data_dir)
            await _import(target, archive, args.replace, args.source)
            await asyncio.to_thread(files.commit, staged, target.data_dir / "storage")
    except BaseException:
        if staged is not None:
            files.discard(staged)
        _remove_new(target.data_dir, existed, entries)
        raise
    if on_s3:
        print("Files stay in the S3 bucket PocketBase used; the carried settings point at it.")
    else:
        print(
            f"Copied {len(staged.keys)} files ({staged.size} bytes) into "
            f"{target.data_dir / 'storage'}; checksums verified."
        )
    if staged.missing:
        print(
            f"Warning: {len(staged.missing)} files named by records were missing in "
            f"{folder.storage} (PocketBase could not serve them either): "
            + ", ".join(staged.missing[:10])
            + (" ..." if len(staged.missing) > 10 else "")
        )
    behind = pocketbase.left_behind(folder, manifest["collections"])
    if behind:
        print("Not carried:")
        for line in behind:
            print(f"  - {line}")
    return 0


def _remove_new(folder: Path, existed: bool, entries: set[str]) -> None:
    """After a failure: remove what this command created in the target folder (or the folder)."""
    if not existed:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for name in set(os.listdir(folder)) - entries:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _describe(manifest: dict[str, object]) -> str:
    collections = manifest.get("collections")
    data = manifest.get("data")
    count = len(collections) if isinstance(collections, list) else 0
    records = (
        sum(int(entry.get("count", 0)) for entry in data.values() if isinstance(entry, dict))
        if isinstance(data, dict)
        else 0
    )
    return f"{count} collections and {records} records"
