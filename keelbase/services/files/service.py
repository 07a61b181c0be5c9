"""Uploaded files: naming, checks, storage around transactions, serving and thumbnails.

A new file is stored while the record's transaction is open and removed again
if it rolls back; a replaced or deleted file is removed only after the commit.
So a failed write leaves no orphan, and a committed record never points at a
file that is gone.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import secrets
import string
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from keelbase.adapters.blobs.base import BlobInfo, BlobNotFound, BlobStore
from keelbase.adapters.blobs.local import LocalBlobStore
from keelbase.core.collections.collection import Collection
from keelbase.core.fields import FieldInvalid, FileField
from keelbase.core.fields.file import DEFAULT_MAX_SIZE, THUMB
from keelbase.core.mime import SNIFF_BYTES, THUMBABLE, allowed, base_type, sniff
from keelbase.core.records.record import Record
from keelbase.store.base import Connection

if TYPE_CHECKING:
    from keelbase.adapters.blobs.s3 import S3BlobStore

log = logging.getLogger("keelbase.files")
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_EXT = re.compile(r"[^A-Za-z0-9._-]+")
FILE_NAME = re.compile(r"^[^./\\][^/\\]*$")
DEFAULT_THUMB = "100x100"


class Upload(Protocol):
    """What the HTTP layer hands over for one uploaded file (Starlette's UploadFile fits)."""

    filename: str | None
    file: BinaryIO
    size: int | None


def _random(length: int) -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(length))


def stored_name(original: str) -> str:
    """``My Photo.JPG`` → ``my_photo_k2j4h5g6f7.jpg``: snake-cased, suffixed, safe."""
    base = Path(original or "file").name
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    words = _NON_WORD.sub(" ", _CAMEL.sub(r"\1 \2", stem)).split()
    clean = "_".join(w.lower() for w in words)
    if len(clean) < 3:
        clean += _random(10)
    clean = clean[:100]
    ext = _EXT.sub("", ext)[:20].lower()
    return f"{clean}_{_random(10)}" + (f".{ext}" if ext else "")


@dataclass
class PendingFile:
    """An upload accepted into a record's value, not stored yet."""

    field: str
    name: str
    original: str
    upload: Upload


@dataclass
class FileChanges:
    """What a save does to files: store these, and after the commit remove those."""

    new: list[PendingFile] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def record_prefix(collection: Collection, record_id: str) -> str:
    return f"{collection.id}/{record_id}"


def file_key(collection: Collection, record_id: str, name: str) -> str:
    return f"{collection.id}/{record_id}/{name}"


def thumb_key(collection: Collection, record_id: str, name: str, size: str) -> str:
    return f"{collection.id}/{record_id}/thumbs_{name}/{size}_{name}"


def _size_of(upload: Upload) -> int:
    if upload.size is not None:
        return upload.size
    position = upload.file.tell()
    size = upload.file.seek(0, 2)
    upload.file.seek(position)
    return int(size)


def _head(upload: Upload) -> bytes:
    position = upload.file.tell()
    head = upload.file.read(SNIFF_BYTES)
    upload.file.seek(position)
    return head


def check_upload(field: FileField, pending: PendingFile) -> None:
    """Size and type of one upload; the type is sniffed from the content."""
    limit = field.maxSize or DEFAULT_MAX_SIZE
    if _size_of(pending.upload) > limit:
        raise FieldInvalid(
            "validation_file_size_limit",
            f"Failed to upload {pending.original} - the maximum allowed file size is {limit} bytes.",
            {"file": pending.original, "maxSize": limit},
        )
    if field.mimeTypes and not allowed(sniff(_head(pending.upload)), field.mimeTypes):
        raise FieldInvalid(
            "validation_invalid_mime_type",
            f'"{pending.name}" mime type must be one of: {", ".join(field.mimeTypes)}.',
        )


def removed_names(
    collection: Collection, before: dict[str, Any], after: dict[str, Any]
) -> list[str]:
    out: list[str] = []
    for f in collection.fields:
        if isinstance(f, FileField):
            kept = set(f.as_list(after.get(f.name)))
            out.extend(n for n in f.as_list(before.get(f.name)) if n not in kept)
    return out


@dataclass
class ServedFile:
    key: str
    name: str
    info: BlobInfo
    content_type: str


class FilesService:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs: BlobStore = LocalBlobStore(root)
        self._thumb_locks: dict[str, asyncio.Lock] = {}

    def use_settings(self, s3: Any) -> None:
        """Switch storage to match the ``s3`` settings section."""
        old = self.blobs
        if s3.enabled:
            self.blobs = s3_store(s3)
        else:
            self.blobs = LocalBlobStore(self.root)
        if old is not self.blobs:
            asyncio.get_event_loop().create_task(old.close())

    async def close(self) -> None:
        await self.blobs.close()

    async def check_s3(self, s3: Any) -> None:
        """Raise ``ValueError`` with the reason when these S3 settings cannot reach the bucket."""
        store = s3_store(s3)
        try:
            await store.ping()
        except Exception as error:  # botocore raises many unrelated types for bad settings
            raise ValueError(str(error)) from error
        finally:
            await store.close()

    # Saving -----------------------------------------------------------------

    async def apply(self, conn: Connection, record: Record, changes: FileChanges) -> None:
        """Store new files now (undone on rollback); remove replaced ones after commit."""
        collection = record.collection
        blobs = self.blobs
        stored: list[str] = []

        async def undo() -> None:
            for key in stored:
                await blobs.delete(key)

        conn.on_rollback(undo)
        for pending in changes.new:
            key = file_key(collection, record.id, pending.name)
            pending.upload.file.seek(0)
            stored.append(key)
            await blobs.put(key, pending.upload.file)
        if changes.removed:
            keys = [file_key(collection, record.id, name) for name in changes.removed]

            async def remove() -> None:
                for key in keys:
                    await blobs.delete(key)
                for name in changes.removed:
                    await blobs.delete_prefix(f"{collection.id}/{record.id}/thumbs_{name}")

            conn.on_commit(remove)

    def remove_record_files(self, conn: Connection, collection: Collection, record_id: str) -> None:
        if not any(isinstance(f, FileField) for f in collection.fields):
            return
        blobs = self.blobs
        prefix = record_prefix(collection, record_id)

        async def remove() -> None:
            await blobs.delete_prefix(prefix)

        conn.on_commit(remove)

    def remove_collection_files(self, conn: Connection, collection: Collection) -> None:
        blobs = self.blobs

        async def remove() -> None:
            await blobs.delete_prefix(collection.id)

        conn.on_commit(remove)

    # Serving ----------------------------------------------------------------

    async def locate(self, record: Record, name: str, thumb: str = "") -> ServedFile:
        """The blob to send for ``name`` of ``record``; a thumbnail when asked and allowed."""
        collection = record.collection
        field = next(
            (
                f
                for f in collection.fields
                if isinstance(f, FileField) and name in f.as_list(record.get(f.name))
            ),
            None,
        )
        if field is None or not FILE_NAME.match(name):
            raise BlobNotFound(name)
        key = file_key(collection, record.id, name)
        info = await self.blobs.info(key)
        head = b"".join([chunk async for chunk in self.blobs.read(key, 0, SNIFF_BYTES - 1)])
        content_type = sniff(head)
        if (
            thumb
            and (thumb == DEFAULT_THUMB or thumb in field.thumbs)
            and base_type(content_type) in THUMBABLE
        ):
            try:
                return await self._thumb(collection, record.id, name, thumb, key)
            except Exception:  # a broken image gets the original, as PocketBase does
                log.warning("thumbnail %s of %s failed", thumb, key, exc_info=True)
        return ServedFile(key, name, info, content_type)

    async def _thumb(
        self, collection: Collection, record_id: str, name: str, size: str, source: str
    ) -> ServedFile:
        key = thumb_key(collection, record_id, name, size)
        lock = self._thumb_locks.setdefault(key, asyncio.Lock())
        async with lock:
            try:
                info = await self.blobs.info(key)
            except BlobNotFound:
                with tempfile.SpooledTemporaryFile(max_size=8 << 20) as original:
                    async for chunk in self.blobs.read(source):
                        original.write(chunk)
                    original.seek(0)
                    data, _ = await asyncio.to_thread(make_thumb, original, size)  # type: ignore[arg-type]
                await self.blobs.put(key, io.BytesIO(data))
                info = await self.blobs.info(key)
        self._thumb_locks.pop(key, None)
        head = b"".join([chunk async for chunk in self.blobs.read(key, 0, SNIFF_BYTES - 1)])
        return ServedFile(key, f"{size}_{name}", info, sniff(head))

    def stream(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return self.blobs.read(key, start, end)


def make_thumb(source: BinaryIO, size: str) -> tuple[bytes, str]:
    """A thumbnail as PocketBase cuts them: WxH (center), WxHt (top), WxHb (bottom),
    WxHf (fit inside), 0xH and Wx0 (keep the ratio)."""
    from PIL import Image, ImageOps

    match = THUMB.match(size)
    if match is None:
        raise ValueError(f"invalid thumb size {size!r}")
    width, height, mode = int(match.group(1)), int(match.group(2)), match.group(3)
    with Image.open(source) as opened:
        image_format = opened.format or "PNG"
        image = ImageOps.exif_transpose(opened)
        if width == 0 or height == 0:
            ratio = (height / image.height) if width == 0 else (width / image.width)
            target = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
            result = image.resize(target, Image.Resampling.LANCZOS)
        elif mode == "f":
            result = image.copy()
            result.thumbnail((width, height), Image.Resampling.LANCZOS)
        else:
            centering = {"t": (0.5, 0.0), "b": (0.5, 1.0)}.get(mode, (0.5, 0.5))
            result = ImageOps.fit(
                image, (width, height), Image.Resampling.LANCZOS, centering=centering
            )
        out = io.BytesIO()
        if image_format == "JPEG" and result.mode not in ("RGB", "L"):
            result = result.convert("RGB")
        result.save(out, format=image_format)
    return out.getvalue(), image_format


def s3_store(s3: Any) -> S3BlobStore:
    """An S3 store for these settings; boto3 (some 20 MB) is loaded only when S3 is used."""
    from keelbase.adapters.blobs.s3 import S3BlobStore, S3Options

    options = S3Options(
        s3.bucket, s3.region, s3.endpoint, s3.accessKey, s3.secret, s3.forcePathStyle
    )
    return S3BlobStore(options)
