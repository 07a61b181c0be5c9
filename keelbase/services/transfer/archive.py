"""The app archive: one zip file that carries a whole app between stores.

Layout (format version 1)::

    manifest.json           format, collections (with secrets), params, and per
                            collection: its records file, count and checksum
    records/<id>.jsonl      one record a line, values as the API returns them

A record's values are written as the API exports them (numbers as numbers,
lists as lists, booleans as booleans), with hidden fields, password hashes and
token keys included. The same data therefore gives the same lines and the same
checksum whichever store it came from.

The checksum of a collection does not depend on row order (stores sort text
differently): it is the sum, modulo 2**256, of the SHA-256 of each record's
canonical JSON. Ids are unique, so a changed, missing or added record changes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson

FORMAT = "keelbase-app"
VERSION = 1
MANIFEST = "manifest.json"
_MODULUS = 1 << 256
# zlib's level for ``keelbase export``. Any level reads the same; level 1 deflates
# about three times faster for a few percent more bytes (backups use it).
DEFAULT_LEVEL = 6
FAST_LEVEL = 1


class TransferError(Exception):
    """An export or import that cannot go on; the message says why, for the user."""


class ArchiveError(TransferError):
    """The archive is missing, unreadable, or not what its manifest promises."""


def normalise(value: Any) -> Any:
    """A value in its canonical JSON form: whole numbers as integers, decimals as numbers."""
    kind = type(value)
    # Exact types first: this runs for every value of every record moved.
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {
            key if type(key) is str else str(key): item
            if type(item) is str or type(item) is bool or item is None
            else normalise(item)
            for key, item in value.items()
        }
    if kind is list:
        return [normalise(item) for item in value]
    if isinstance(value, str | int):  # bool is an int
        return value
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    return value


def canonical(record: dict[str, Any]) -> bytes:
    """The record as one line of canonical JSON (sorted keys, normalised values)."""
    return orjson.dumps(normalise(record), option=orjson.OPT_SORT_KEYS)


class Checksum:
    """Count and order-independent checksum of a collection's records."""

    def __init__(self) -> None:
        self.count = 0
        self._sum = 0

    def add(self, line: bytes) -> None:
        self.count += 1
        self._sum = (self._sum + int.from_bytes(hashlib.sha256(line).digest(), "big")) % _MODULUS

    @property
    def hexdigest(self) -> str:
        return f"sha256sum:{self._sum:064x}"


def records_member(collection_id: str) -> str:
    return f"records/{collection_id}.jsonl"


class ArchiveWriter:
    """Writes an archive to a temporary file, renamed into place only when complete."""

    def __init__(self, path: Path, compresslevel: int = DEFAULT_LEVEL) -> None:
        self.path = path
        self._temp = path.with_name(f".{path.name}.partial")
        self._level = compresslevel
        try:
            self._zip = zipfile.ZipFile(
                self._temp,
                "w",
                compression=zipfile.ZIP_DEFLATED,
                compresslevel=compresslevel,
                allowZip64=True,
            )
        except OSError as error:
            raise ArchiveError(f"cannot write {path}: {error.strerror or error}") from error
        self._open: IO[bytes] | None = None

    def begin_records(self, collection_id: str) -> None:
        self.end_records()
        member = zipfile.ZipInfo(records_member(collection_id), time.localtime()[:6])
        member.compress_type = zipfile.ZIP_DEFLATED
        # The level ZipFile.open(name) would set; ZipInfo names it compress_level from 3.13.
        setattr(member, "_compresslevel", self._level)  # noqa: B010
        self._open = self._zip.open(member, "w", force_zip64=True)

    def write_record(self, line: bytes) -> None:
        assert self._open is not None
        self._open.write(line + b"\n")

    def end_records(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None

    def finish(self, manifest: dict[str, Any]) -> None:
        self.end_records()
        self._zip.writestr(MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        self._zip.close()
        os.replace(self._temp, self.path)

    def abandon(self) -> None:
        """Drop the partial file after a failure (closing may fail too: the file goes anyway)."""
        with contextlib.suppress(OSError, ValueError, zipfile.BadZipFile):
            self.end_records()
        with contextlib.suppress(OSError, ValueError, zipfile.BadZipFile):
            self._zip.close()
        self._temp.unlink(missing_ok=True)


class ArchiveReader:
    """Reads an archive: its manifest, then each collection's records as a stream."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise ArchiveError(f"no archive at {path}")
        try:
            self._zip = zipfile.ZipFile(path, "r")
            raw = self._zip.read(MANIFEST)
        except zipfile.BadZipFile as error:
            raise ArchiveError(f"{path} is not a Keelbase app archive (not a zip file)") from error
        except KeyError as error:
            raise ArchiveError(f"{path} is not a Keelbase app archive (no {MANIFEST})") from error
        except OSError as error:
            raise ArchiveError(f"cannot read {path}: {error.strerror or error}") from error
        try:
            manifest = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise ArchiveError(f"{MANIFEST} in {path} is not valid JSON: {error}") from error
        self.manifest = check_manifest(manifest, path)

    def records(self, collection_id: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, record) for each line; a broken line raises ``ArchiveError``."""
        member = records_member(collection_id)
        try:
            with self._zip.open(member) as stream:
                for number, line in enumerate(stream, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = orjson.loads(line)
                    except orjson.JSONDecodeError as error:
                        raise ArchiveError(f"{member} line {number}: not valid JSON") from error
                    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                        raise ArchiveError(f"{member} line {number}: not a record with an id")
                    yield number, record
        except KeyError as error:
            raise ArchiveError(f"the archive has no {member}") from error
        except (zipfile.BadZipFile, EOFError, OSError) as error:
            raise ArchiveError(f"{member} is damaged: {error}") from error

    def close(self) -> None:
        self._zip.close()


def check_manifest(manifest: Any, path: Path) -> dict[str, Any]:
    """The manifest when its shape is one this version reads, else ``ArchiveError``."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{path} is not a Keelbase app archive (unknown format)")
    if manifest.get("version") != VERSION:
        raise ArchiveError(
            f"{path} has archive version {manifest.get('version')!r}; this Keelbase reads {VERSION}"
        )
    collections = manifest.get("collections")
    data = manifest.get("data")
    params = manifest.get("params")
    if (
        not isinstance(collections, list)
        or not all(isinstance(c, dict) and isinstance(c.get("id"), str) for c in collections)
        or not isinstance(data, dict)
        or not isinstance(params, dict)
    ):
        raise ArchiveError(f"{MANIFEST} in {path} is incomplete")
    for entry in data.values():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("count"), int)
            or not isinstance(entry.get("checksum"), str)
        ):
            raise ArchiveError(f"{MANIFEST} in {path} has a broken data entry")
    return manifest
