"""Create, list, check, restore and prune backups; the automatic backups' cron job.

One backup or restore runs at a time on a node (``active``); another is
refused with PocketBase's 400. A backup is written under a temporary name in
the data folder's ``.kb_temp``, checked (``archive.check`` plus the engine's
own check) and only then stored under its name, locally in ``backups/`` or in
the backups S3 bucket. A backup that fails its check is kept beside the others
as ``NAME.failed`` (local storage), never listed or restored.

A restore unpacks and checks the backup before anything is touched, then puts
the current data aside (the database copied under the write lock, ``storage/``
moved), swaps the backup's data in, reloads the schema and settings and asks
the store a question. Only when it answers is the aside data removed; any
failure puts it back, so the app is as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from keelbase.adapters.blobs.base import BlobNotFound, BlobStore
from keelbase.adapters.blobs.local import LocalBlobStore
from keelbase.core.dates import now_string
from keelbase.services.backups import names
from keelbase.services.backups.archive import (
    BackupInvalid,
    BackupWriteFailed,
    check,
    write_and_check,
)
from keelbase.services.cron import CronService
from keelbase.services.settings import Settings, SettingsService

if TYPE_CHECKING:
    from keelbase.services.backups.engines import Engine

log = logging.getLogger("keelbase.backups")
CRON_JOB = "__pbAutoBackup__"
TEMP_DIR = ".kb_temp"
BACKUPS_DIR = "backups"
STORAGE_DIR = "storage"
LEFTOVER_SECONDS = 86400
FAILED_SUFFIX = ".failed"


class BackupBusy(Exception):
    """Another backup or restore runs on this node."""


class BackupFailed(Exception):
    """A backup or restore that did not happen; the message says why. Nothing was changed."""


@dataclass(frozen=True)
class BackupInfo:
    key: str
    size: int
    modified: float  # unix time


Reload = Callable[[], Awaitable[None]]
Alert = Callable[[str, str], Awaitable[None]]


class BackupsService:
    def __init__(
        self,
        data_dir: Path,
        make_engine: Callable[[], Engine],
        settings: SettingsService,
        crons: CronService,
        reload: Reload,
        alert: Alert,
    ) -> None:
        self.data_dir = data_dir
        self._make_engine = make_engine
        self.settings = settings
        self.crons = crons
        self.reload = reload
        self.alert = alert
        # The key of the backup being made or restored, if any (PocketBase's ``@activeBackup``).
        self.active: str | None = None
        self._cron = ""

    @functools.cached_property
    def engine(self) -> Engine:
        """How backups snapshot and restore the store: made at the first backup or restore
        (``engines`` is not imported by a server that never makes one)."""
        return self._make_engine()

    # Where backups live ---------------------------------------------------------

    @property
    def local_dir(self) -> Path:
        return self.data_dir / BACKUPS_DIR

    def blobs(self) -> BlobStore:
        """The backups' storage for the current settings: the backups S3 bucket, or ``backups/``."""
        s3 = self.settings.current.backups.s3
        if s3.enabled:
            from keelbase.services.files.service import s3_store

            return s3_store(s3)
        return LocalBlobStore(self.local_dir)

    @asynccontextmanager
    async def _storage(self) -> AsyncIterator[BlobStore]:
        blobs = self.blobs()
        try:
            yield blobs
        finally:
            await blobs.close()

    async def all(self) -> list[BackupInfo]:
        async with self._storage() as blobs:
            found = await blobs.list_blobs()
        return [
            BackupInfo(k, i.size, i.modified)
            for k, i in found
            if names.is_key(k) and not k.endswith(FAILED_SUFFIX)
        ]

    async def info(self, key: str) -> BackupInfo | None:
        if not names.is_key(key):
            return None
        async with self._storage() as blobs:
            try:
                found = await blobs.info(key)
            except BlobNotFound:
                return None
        return BackupInfo(key, found.size, found.modified)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        """The backup's bytes in chunks; raises ``BlobNotFound``."""
        if not names.is_key(key):
            raise BlobNotFound(key)
        async with self._storage() as blobs:
            async for chunk in blobs.read(key):
                yield chunk

    async def delete(self, key: str) -> None:
        """Remove a backup; ``BlobNotFound`` when there is none by that name."""
        if await self.info(key) is None:
            raise BlobNotFound(key)
        if self.active == key:
            raise BackupBusy(key)
        async with self._storage() as blobs:
            await blobs.delete(key)

    @asynccontextmanager
    async def _activity(self, key: str) -> AsyncIterator[None]:
        """One backup or restore at a time: on this node, and across processes and nodes."""
        if self.active is not None:
            raise BackupBusy(self.active)
        self.active = key
        try:
            async with self.engine.exclusive() as alone:
                if not alone:
                    raise BackupBusy("another process or node")
                yield
        finally:
            self.active = None

    def forget_leftovers(self) -> None:
        """Remove work folders a crash left behind (older than a day: another process on
        the same data folder may be writing a backup right now)."""
        temp = self.data_dir / TEMP_DIR
        if not temp.is_dir():
            return
        limit = time.time() - LEFTOVER_SECONDS
        for folder in temp.glob("backup_*"):
            with contextlib.suppress(OSError):
                if folder.stat().st_mtime < limit:
                    shutil.rmtree(folder, ignore_errors=True)

    def _work_dir(self) -> Path:
        work = self.data_dir / TEMP_DIR / f"backup_{secrets.token_hex(6)}"
        work.mkdir(parents=True)
        return work

    # Creating ------------------------------------------------------------------

    def default_name(self, prefix: str = names.MANUAL_PREFIX) -> str:
        return names.generate(self.settings.current.meta.appName, prefix)

    async def create(self, name: str = "") -> dict[str, Any]:
        """Write, check and store a backup; returns its manifest.

        ``BackupBusy`` when another runs, ``BackupFailed`` when it could not be
        made or failed its check (a local one is kept as ``NAME.failed``).
        """
        name = name or self.default_name()
        async with self._activity(name):
            work = self._work_dir()
            try:
                return await self._create(name, work)
            finally:
                await asyncio.to_thread(shutil.rmtree, work, True)

    async def _create(self, name: str, work: Path) -> dict[str, Any]:
        from keelbase.services.backups.engines import DATABASE, Phases, in_child

        started = time.monotonic()
        temp = work / f"{name}.partial"
        phases = Phases(name)
        try:
            snapshot = await self.engine.snapshot(work, phases)
        except Exception as error:
            raise BackupFailed(f"the database snapshot failed: {error}") from error
        log.info("backup %s: database snapshot taken in %.2fs", name, time.monotonic() - started)
        fields = {**snapshot.fields, "created": now_string(), "name": name}
        try:
            zip_started = time.time()
            manifest, check_started = await in_child(
                write_and_check,
                str(temp),
                str(snapshot.start) if snapshot.start is not None else None,
                (DATABASE, str(snapshot.database)) if snapshot.database is not None else None,
                (STORAGE_DIR, str(self.data_dir / STORAGE_DIR)),
                fields,
            )
            phases.add("zip", zip_started, check_started)
            phases.add("check", check_started, time.time())
            with phases("check-records"):
                await self.engine.check(temp, None, manifest)
        except BackupWriteFailed as error:
            raise BackupFailed(f"writing the backup failed: {error}") from error
        except BackupInvalid as error:
            await self._keep_failed(temp, name)
            raise BackupFailed(f"the backup failed its check: {error}") from error
        size = temp.stat().st_size
        if snapshot.database is not None:  # freeing a large file's blocks takes a while
            with phases("unlink"):
                await asyncio.to_thread(snapshot.database.unlink, True)
        with phases("store"):
            await self._store(name, temp)
        log.info(
            "backup %s written and checked in %.2fs (%d bytes)",
            name,
            time.monotonic() - started,
            size,
        )
        return manifest

    async def _store(self, name: str, temp: Path) -> None:
        """Keep the checked file under its name: moved into ``backups/`` (one rename, the
        work folder is on the same disk), or sent to the backups bucket."""
        try:
            if not self.settings.current.backups.s3.enabled:
                await asyncio.to_thread(self.local_dir.mkdir, parents=True, exist_ok=True)
                await asyncio.to_thread(os.replace, temp, self.local_dir / name)
                return
            async with self._storage() as blobs:
                with open(temp, "rb") as source:
                    await blobs.put(name, source)
        except Exception as error:  # an unreachable bucket: boto3 raises many types
            raise BackupFailed(f"storing the backup failed: {error}") from error

    async def _keep_failed(self, temp: Path, name: str) -> None:
        if self.settings.current.backups.s3.enabled:
            return
        self.local_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(os.replace, temp, self.local_dir / f"{name}{FAILED_SUFFIX}")

    async def verify(self, path: Path, unpack_to: Path | None) -> dict[str, Any]:
        """Everything ``check`` and the engine check, unpacking into ``unpack_to``
        (``None``: compare the hashes only); raises ``BackupInvalid``.

        ``check`` runs in a child process: decompressing and hashing the whole
        file would otherwise hold this process's GIL against its requests.
        """
        from keelbase.services.backups.engines import in_child

        manifest: dict[str, Any] = await in_child(check, path, unpack_to)
        if manifest["store"] != self.engine.kind:
            raise BackupInvalid(
                f"it is a backup of a {manifest['store']} app; this app runs on "
                f"{self.engine.kind} (use keelbase export and import to move between stores)"
            )
        await self.engine.check(path, unpack_to, manifest)
        return manifest

    # Uploading -----------------------------------------------------------------

    async def upload(self, name: str, source: BinaryIO) -> None:
        """Store an uploaded backup under ``name`` once it passed the same check as our own."""
        work = self._work_dir()
        try:
            temp = work / "upload.zip"
            with open(temp, "wb") as out:
                await asyncio.to_thread(shutil.copyfileobj, source, out, 1 << 20)
            await self.verify(temp, work / "verify")
            async with self._storage() as blobs:
                with open(temp, "rb") as stored:
                    await blobs.put(name, stored)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)

    # Restoring -----------------------------------------------------------------

    async def restore(self, key: str) -> None:
        """Replace the app's data with the backup's; all or nothing (see the module doc)."""
        async with self._activity(key):
            work = self._work_dir()
            try:
                await self._restore(key, work)
            finally:
                await asyncio.to_thread(shutil.rmtree, work, True)

    async def _restore(self, key: str, work: Path) -> None:
        started = time.monotonic()
        local = await self._fetch(key, work)
        unpacked = work / "unpacked"
        try:
            await self.verify(local, unpacked)
        except BackupInvalid as error:
            raise BackupFailed(str(error)) from error
        aside = work / "aside"
        try:
            await self.engine.replace(local, unpacked, aside)
        except BackupInvalid as error:
            raise BackupFailed(str(error)) from error
        except Exception as error:  # the store refused; its replace is one transaction
            raise BackupFailed(f"the store refused the backup's data: {error}") from error
        storage = self.data_dir / STORAGE_DIR
        moved = await asyncio.to_thread(_swap_folder, storage, unpacked / STORAGE_DIR, aside)
        try:
            await self.reload()
        except Exception as error:
            log.exception("the restored app did not start; putting the data back")
            await self._put_back(aside, storage, moved)
            raise BackupFailed(f"the restored app did not start: {error}") from error
        log.info("backup %s restored in %.2fs", key, time.monotonic() - started)

    async def _put_back(self, aside: Path, storage: Path, moved: bool) -> None:
        await self.engine.put_back(aside)
        if moved:
            await asyncio.to_thread(shutil.rmtree, storage, True)
            if (aside / STORAGE_DIR).exists():
                await asyncio.to_thread(os.replace, aside / STORAGE_DIR, storage)
        await self.reload()

    async def _fetch(self, key: str, work: Path) -> Path:
        """A local path of the backup: the file itself, or a download from S3."""
        if not self.settings.current.backups.s3.enabled:
            path = self.local_dir / key
            if not names.is_key(key) or not path.is_file():
                raise BlobNotFound(key)
            return path
        target = work / "download.zip"
        with open(target, "wb") as out:
            async for chunk in self.read(key):
                await asyncio.to_thread(out.write, chunk)
        return target

    # Automatic backups ---------------------------------------------------------

    def apply_settings(self, settings: Settings) -> None:
        """Add, change or remove the cron job to match ``backups.cron``."""
        cron = settings.backups.cron
        if cron == self._cron:
            return
        self._cron = cron
        if cron:
            self.crons.add(CRON_JOB, cron, self.auto_backup)
        else:
            self.crons.remove(CRON_JOB)

    async def auto_backup(self) -> None:
        """The cron job: a backup named ``@auto_pb_backup_...``, then keep the newest N."""
        name = self.default_name(names.AUTO_PREFIX)
        try:
            await self.create(name)
        except Exception as error:  # whatever went wrong, the superusers must hear of it
            log.error("automatic backup %s failed: %s", name, error)
            try:
                await self.alert(
                    "Autobackup failure",
                    "Failed to create/upload automated backup. Raw error:\n" + str(error),
                )
            except Exception:
                log.warning("mailing the automatic backup failure failed", exc_info=True)
        await self.prune()

    async def prune(self) -> None:
        """Keep only the newest ``cronMaxKeep`` automatic backups (failed ones count too)."""
        keep = self.settings.current.backups.cronMaxKeep
        if keep <= 0:
            return
        async with self._storage() as blobs:
            autos = await blobs.list_blobs(names.AUTO_PREFIX)
            autos.sort(key=lambda item: (item[1].modified, item[0]), reverse=True)
            for key, _info in autos[keep:]:
                await blobs.delete(key)
                log.info("removed old automatic backup %s", key)


def _swap_folder(current: Path, replacement: Path, aside: Path) -> bool:
    """Move ``current`` into ``aside`` and ``replacement`` (if any) in its place."""
    moved = False
    aside.mkdir(parents=True, exist_ok=True)
    if current.exists():
        os.replace(current, aside / current.name)
        moved = True
    if replacement.exists():
        os.replace(replacement, current)
        moved = True
    return moved


def modified_string(moment: float) -> str:
    """PocketBase's date format: ``2026-12-03 18:15:00.000Z``."""
    stamp = datetime.fromtimestamp(moment, UTC)
    return stamp.strftime("%Y-%m-%d %H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
