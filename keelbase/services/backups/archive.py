"""The backup file: a zip with a manifest that lets anyone check it before trusting it.

Layout (format version 1)::

    backup.json          format, version, the store it came from, created, and
                         for every other member: its size and SHA-256
    data.db              SQLite: the database, as an online-backup copy
    manifest.json,       PostgreSQL: the app archive of ``keelbase export``
    records/<id>.jsonl   (its own manifest holds counts and checksums per collection)
    storage/...          the stored files of the data folder

A SQLite backup is laid out like PocketBase's (``data.db`` and ``storage/`` at
the top), plus ``backup.json``. ``check`` reads every member back, compares
sizes and hashes with the manifest, and unpacks into a folder when asked; the
engines then check what is inside (counts, checksums, the database itself).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

FORMAT = "keelbase-backup"
VERSION = 1
MANIFEST = "backup.json"
CHUNK = 1 << 20


class BackupInvalid(Exception):
    """The file is not a sound Keelbase backup; the message says why, for the user."""


@dataclass
class Member:
    size: int
    sha256: str


class BackupWriter:
    """Adds members to a zip at ``path`` (a temporary name; the caller renames it).

    ``start`` is an existing zip to extend (the app archive of a PostgreSQL
    backup); it is moved to ``path`` first.
    """

    def __init__(self, path: Path, start: Path | None = None) -> None:
        self.path = path
        self.members: dict[str, Member] = {}
        if start is not None:
            os.replace(start, path)
        self._zip = zipfile.ZipFile(
            path, "a" if start is not None else "w", zipfile.ZIP_DEFLATED, compresslevel=1
        )

    def add_file(self, member: str, source: Path) -> None:
        """Stream ``source`` into the zip, hashing it in the same pass."""
        info = zipfile.ZipInfo(member, time.localtime(source.stat().st_mtime)[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        digest = hashlib.sha256()
        size = 0
        with open(source, "rb") as handle, self._zip.open(info, "w", force_zip64=True) as out:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        self.members[member] = Member(size, digest.hexdigest())

    def adopt_existing(self) -> None:
        """List the members the zip started with (the app archive) in the manifest too."""
        for info in self._zip.infolist():
            if info.filename in self.members or info.filename.endswith("/"):
                continue
            digest = hashlib.sha256()
            with self._zip.open(info) as stream:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
            self.members[info.filename] = Member(info.file_size, digest.hexdigest())

    def add_folder(self, prefix: str, folder: Path) -> int:
        """Every file under ``folder`` as ``prefix/<relative path>``; the number added.

        Files being written (``.part``) are left out, files removed meanwhile skipped.
        """
        added = 0
        if not folder.is_dir():
            return added
        for path in sorted(folder.rglob("*")):
            if path.name.endswith(".part") or not path.is_file():
                continue
            member = f"{prefix}/{path.relative_to(folder).as_posix()}"
            try:
                self.add_file(member, path)
            except FileNotFoundError:
                self.members.pop(member, None)
                continue
            added += 1
        return added

    def finish(self, manifest: dict[str, Any]) -> dict[str, Any]:
        full = {
            "format": FORMAT,
            "version": VERSION,
            **manifest,
            "members": {
                name: {"size": m.size, "sha256": m.sha256} for name, m in self.members.items()
            },
        }
        self._zip.writestr(MANIFEST, orjson.dumps(full, option=orjson.OPT_INDENT_2))
        self._zip.close()
        return full

    def abandon(self) -> None:
        with contextlib.suppress(OSError, ValueError, zipfile.BadZipFile):
            self._zip.close()
        self.path.unlink(missing_ok=True)


WRITE_BEHIND_SECONDS = 0.2
_SYNC_FILE_RANGE_WRITE_AND_WAIT = 2 | 4  # SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER


@contextlib.contextmanager
def written_behind(*paths: Path) -> Iterator[None]:
    """While the block runs, the files at ``paths`` (once they exist) go to the disk as
    they are written, a fifth of a second at a time.

    Left to the kernel, a backup's hundreds of megabytes stay dirty in memory and
    are written out in bursts of seconds, during which every ``fsync`` of the
    database (PostgreSQL's WAL at each commit, SQLite's checkpoints) waits its
    turn behind them. Written out here, by a thread of the backup's child, they
    never pile up. Only the data of the files is written
    (``sync_file_range``): no journal commit is forced. The pages stay in the
    cache, clean: the backup reads them again (the check, the zip), and the
    kernel drops clean pages first when memory is wanted.
    Where the call is missing (not Linux), the kernel writes as it likes.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        sync_file_range = libc.sync_file_range
        sync_file_range.argtypes = [
            ctypes.c_int,
            ctypes.c_longlong,
            ctypes.c_longlong,
            ctypes.c_uint,
        ]
    except (OSError, AttributeError):
        yield
        return
    stop = threading.Event()

    def push(fd: int) -> None:
        sync_file_range(fd, 0, 0, _SYNC_FILE_RANGE_WRITE_AND_WAIT)

    def run() -> None:
        handles: dict[Path, int] = {}
        try:
            while True:
                stopping = stop.wait(WRITE_BEHIND_SECONDS)
                for path in paths:
                    if path not in handles:
                        with contextlib.suppress(OSError):
                            handles[path] = os.open(path, os.O_RDONLY)
                    if path in handles:
                        push(handles[path])
                if stopping:
                    return
        finally:
            for fd in handles.values():
                os.close(fd)

    thread = threading.Thread(target=run, name="keelbase-write-behind", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class BackupWriteFailed(Exception):
    """Writing the backup file failed (disk full, a file unreadable); it was removed."""


def write_and_check(
    temp: str,
    start: str | None,
    database: tuple[str, str] | None,
    storage: tuple[str, str],
    fields: dict[str, Any],
) -> tuple[dict[str, Any], float]:
    """Write the backup at ``temp`` and check it; its manifest and when (``time.time()``)
    the check began. Run in a child process.

    ``start`` is a zip to extend (a PostgreSQL app archive), ``database`` a
    ``(member, file)`` to add (a SQLite snapshot), ``storage`` the
    ``(prefix, folder)`` of the stored files. Compressing and hashing every
    byte twice is CPU work that, in the server's process, would hold its GIL
    against the requests being served: here it holds nothing of theirs.
    ``BackupWriteFailed`` when writing failed (nothing left at ``temp``),
    ``BackupInvalid`` when the written file failed its check (left at ``temp``).
    """
    path = Path(temp)
    try:
        with written_behind(path):
            manifest = _write(path, start, database, storage, fields)
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error) as error:
        raise BackupWriteFailed(str(error)) from error
    check_started = time.time()
    check(path, None)
    return manifest, check_started


def _write(
    path: Path,
    start: str | None,
    database: tuple[str, str] | None,
    storage: tuple[str, str],
    fields: dict[str, Any],
) -> dict[str, Any]:
    writer = BackupWriter(path, Path(start) if start is not None else None)
    try:
        if start is not None:
            writer.adopt_existing()
        if database is not None:
            writer.add_file(database[0], Path(database[1]))
        writer.add_folder(storage[0], Path(storage[1]))
        return writer.finish(fields)
    except BaseException:
        writer.abandon()
        raise


def _safe_member(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        bool(name)
        and not path.is_absolute()
        and ".." not in path.parts
        and "\\" not in name
        and not name.endswith("/")
    )


def read_manifest(archive: zipfile.ZipFile, label: str) -> dict[str, Any]:
    try:
        raw = archive.read(MANIFEST)
    except KeyError as error:
        hint = ""
        if "data.db" in archive.namelist():
            hint = "; it looks like a PocketBase backup: unzip it and bring it over with keelbase migrate"
        raise BackupInvalid(
            f"{label} is not a Keelbase backup (it has no {MANIFEST}){hint}"
        ) from error
    try:
        manifest = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BackupInvalid(f"{MANIFEST} in {label} is not valid JSON") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupInvalid(f"{label} is not a Keelbase backup (unknown format)")
    if manifest.get("version") != VERSION:
        raise BackupInvalid(
            f"{label} has backup version {manifest.get('version')!r}; this Keelbase reads {VERSION}"
        )
    members = manifest.get("members")
    if manifest.get("store") not in ("sqlite", "postgres") or not isinstance(members, dict):
        raise BackupInvalid(f"{MANIFEST} in {label} is incomplete")
    for name, entry in members.items():
        if (
            not _safe_member(name)
            or not isinstance(entry, dict)
            or not isinstance(entry.get("size"), int)
            or not isinstance(entry.get("sha256"), str)
        ):
            raise BackupInvalid(f"{MANIFEST} in {label} has a broken entry for {name!r}")
    return manifest


def check(path: Path, unpack_to: Path | None = None, label: str = "") -> dict[str, Any]:
    """Open the backup at ``path`` and compare every member with the manifest.

    With ``unpack_to``, the listed members are written there as they are
    checked. Raises ``BackupInvalid`` for a file that is not a zip, is cut
    short, has members changed, missing or added, or has no manifest.
    """
    label = label or path.name
    try:
        archive = zipfile.ZipFile(path, "r")
    except zipfile.BadZipFile as error:
        raise BackupInvalid(f"{label} is not a zip file (damaged or cut short)") from error
    except OSError as error:
        raise BackupInvalid(f"cannot read {label}: {error.strerror or error}") from error
    with archive:
        manifest = read_manifest(archive, label)
        members: dict[str, Any] = manifest["members"]
        for name in archive.namelist():
            if name == MANIFEST or name in members or name.endswith("/"):
                continue
            raise BackupInvalid(f"{label} has a member its manifest does not list: {name}")
        for name, entry in members.items():
            _check_member(archive, name, entry, unpack_to, label)
    return manifest


def _check_member(
    archive: zipfile.ZipFile, name: str, entry: dict[str, Any], unpack_to: Path | None, label: str
) -> None:
    digest = hashlib.sha256()
    size = 0
    target = unpack_to / name if unpack_to is not None else None
    out = None
    try:
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            out = open(target, "wb")  # noqa: SIM115 (closed below, after a partial write too)
        with archive.open(name) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if out is not None:
                    out.write(chunk)
    except KeyError as error:
        raise BackupInvalid(f"{label} misses {name}, which its manifest lists") from error
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
        raise BackupInvalid(f"{name} in {label} is damaged: {error}") from error
    finally:
        if out is not None:
            out.close()
    if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
        raise BackupInvalid(f"{name} in {label} does not match its checksum (changed or damaged)")
