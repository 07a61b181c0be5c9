"""Carrying stored files with a migration, all or nothing.

Files are copied first into a staging folder inside the target's data folder
(same file system, so moving them into place later is a rename), each checked
by SHA-256 after the copy. Only when the records are imported and verified are
they moved into ``storage/``; on any failure the staging folder goes and the
target's storage is as it was.

Only the files that records name are carried: thumbnails are cut again on
demand from their sources, and PocketBase's ``.attrs`` side files describe the
blob for its Go storage library, not the app.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keelbase.services.transfer.archive import ArchiveReader, TransferError

_CHUNK = 1 << 20


@dataclass
class StagedFiles:
    """Files copied aside and verified, waiting for the records' import to succeed."""

    staging: Path
    keys: list[str] = field(default_factory=list)  # COLLECTION_ID/RECORD_ID/NAME
    size: int = 0
    missing: list[str] = field(default_factory=list)  # named by a record, absent in the source


def named_files(reader: ArchiveReader) -> list[str]:
    """Every ``COLLECTION_ID/RECORD_ID/NAME`` that a record of the archive names."""
    keys: list[str] = []
    for collection in reader.manifest["collections"]:
        if collection.get("type") == "view":
            continue
        file_fields = [f["name"] for f in collection.get("fields", []) if f.get("type") == "file"]
        if not file_fields:
            continue
        for _, record in reader.records(collection["id"]):
            for name in file_fields:
                value: Any = record.get(name)
                names = value if isinstance(value, list) else [value]
                for item in names:
                    if isinstance(item, str) and item:
                        keys.append(f"{collection['id']}/{record['id']}/{item}")
    return keys


def _safe(key: str) -> bool:
    parts = key.split("/")
    return len(parts) == 3 and all(p and p not in (".", "..") and "\\" not in p for p in parts)


def stage(source: Path, keys: list[str], target_dir: Path) -> StagedFiles:
    """Copy ``keys`` from ``source`` into a new staging folder in ``target_dir``, verified."""
    staged = StagedFiles(target_dir / f".keelbase-migrate-{uuid.uuid4().hex[:12]}")
    staged.staging.mkdir(parents=True)
    try:
        for key in keys:
            if not _safe(key):
                raise TransferError(f"a record names the file {key!r}, which is not a safe path")
            origin = source / key
            if not origin.is_file():
                staged.missing.append(key)
                continue
            copy = staged.staging / key
            copy.parent.mkdir(parents=True, exist_ok=True)
            written = _copy(origin, copy)
            if _digest(copy) != written:
                raise TransferError(f"the copy of {key} differs from its source")
            staged.keys.append(key)
            staged.size += copy.stat().st_size
    except BaseException:
        discard(staged)
        raise
    return staged


def _copy(origin: Path, copy: Path) -> str:
    digest = hashlib.sha256()
    with origin.open("rb") as reader, copy.open("wb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
    return digest.hexdigest()


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def commit(staged: StagedFiles, storage: Path) -> None:
    """Move the staged files into ``storage`` (renames), then drop the staging folder."""
    for key in staged.keys:
        destination = storage / key
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.staging / key, destination)
    discard(staged)


def discard(staged: StagedFiles) -> None:
    shutil.rmtree(staged.staging, ignore_errors=True)
