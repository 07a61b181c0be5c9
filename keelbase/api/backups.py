"""``/api/backups``: superusers make, list, download, upload, delete and restore backups.

Shapes, statuses and messages are PocketBase's; the work is in
``services/backups``. A download is authorised by a superuser's file token in
``?token=`` (browsers follow a plain link), like PocketBase's.
"""

from __future__ import annotations

from email.utils import formatdate
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from keelbase.adapters.blobs import BlobNotFound
from keelbase.api.request import (
    app_of,
    fields_tree,
    query_of,
    read_body,
    request_info,
    require_superuser,
)
from keelbase.api.responses import json_response, no_content
from keelbase.core.mime import SNIFF_BYTES, base_type, sniff
from keelbase.core.records.fields_picker import pick
from keelbase.core.request_info import SUPERUSERS
from keelbase.errors import (
    MSG_LOAD,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    field_error,
    required_error,
)
from keelbase.services.backups import names
from keelbase.services.backups.archive import BackupInvalid
from keelbase.services.backups.service import BackupBusy, BackupFailed, modified_string
from keelbase.services.files.service import stored_name

MSG_VALIDATE = "An error occurred while validating the submitted data."
MSG_BUSY = "Try again later - another backup/restore process has already been started."
MSG_FORBIDDEN = "Insufficient permissions to access the resource."


async def list_backups(request: Request) -> Response:
    require_superuser(await request_info(request))
    try:
        found = await app_of(request).backups.all()
    except Exception as error:  # an unreachable bucket: boto3 raises many types
        raise BadRequestError(
            "Failed to retrieve backup items. Raw error: \n" + str(error)
        ) from error
    items = [{"key": b.key, "modified": modified_string(b.modified), "size": b.size} for b in found]
    return json_response(pick(items, fields_tree(request)))


async def create_backup(request: Request) -> Response:
    require_superuser(await request_info(request))
    backups = app_of(request).backups
    if backups.active is not None:
        raise BadRequestError(MSG_BUSY)
    body = await read_body(request, MSG_LOAD)
    name = body.get("name", "")
    if not isinstance(name, str):
        raise BadRequestError(MSG_LOAD)
    if name:
        problem = None
        if len(name) > names.NAME_MAX:
            problem = field_error(
                "validation_length_out_of_range",
                f"The length must be between 1 and {names.NAME_MAX}.",
                {"max": names.NAME_MAX, "min": 1},
            )
        elif not names.NAME.match(name):
            problem = field_error("validation_match_invalid", "Must be in a valid format.")
        elif await backups.info(name) is not None:
            problem = field_error(
                "validation_backup_name_exists",
                "The backup file name is invalid or already exists.",
            )
        if problem is not None:
            raise BadRequestError(MSG_VALIDATE, {"name": problem})
    try:
        await backups.create(name)
    except BackupBusy as error:
        raise BadRequestError(MSG_BUSY) from error
    except BackupFailed as error:
        raise BadRequestError(f"Failed to create backup: {error}.") from error
    return no_content()


async def upload_backup(request: Request) -> Response:
    require_superuser(await request_info(request))
    app = app_of(request)
    body = await read_body(request, MSG_LOAD, limit=app.config.max_backup_upload)
    upload = body.get("file")
    if isinstance(upload, list):
        upload = upload[0] if upload else None
    if not isinstance(upload, UploadFile):
        raise BadRequestError(MSG_VALIDATE, {"file": required_error()})
    name = upload.filename or ""
    head = upload.file.read(SNIFF_BYTES)
    upload.file.seek(0)
    if base_type(sniff(head)) != "application/zip":
        raise BadRequestError(MSG_VALIDATE, {"file": field_error(
            "validation_invalid_mime_type",
            f'"{stored_name(name)}" mime type must be one of: application/zip.',
        )})  # fmt: skip
    if not names.is_key(name) or not name.endswith(".zip"):
        raise BadRequestError(MSG_VALIDATE, {"file": field_error(
            "validation_invalid_backup_name",
            "The file name may have only letters, digits, _ - and . and must end with .zip.",
        )})  # fmt: skip
    if await app.backups.info(name) is not None:
        raise BadRequestError(MSG_VALIDATE, {"file": field_error(
            "validation_backup_name_exists", "Backup file with the specified name already exists."
        )})  # fmt: skip
    try:
        await app.backups.upload(name, upload.file)
    except BackupInvalid as error:
        raise BadRequestError(MSG_VALIDATE, {"file": field_error(
            "validation_invalid_backup", f"Not a sound Keelbase backup: {error}."
        )}) from error  # fmt: skip
    return no_content()


async def download_backup(request: Request) -> Response:
    app = app_of(request)
    auth = await app.auth.record_from_file_token(query_of(request).get("token", ""))
    if auth is None or auth.collection.name != SUPERUSERS:
        raise ForbiddenError(MSG_FORBIDDEN)
    key = request.path_params["key"]
    found = await app.backups.info(key)
    if found is None:
        raise NotFoundError()
    headers = {
        "Content-Disposition": f"attachment; filename=\"{key}\"; filename*=UTF-8''{quote(key)}",
        "Content-Length": str(found.size),
        "Last-Modified": formatdate(found.modified, usegmt=True),
    }
    if request.method == "HEAD":
        return Response(b"", headers=headers, media_type="application/zip")
    return StreamingResponse(app.backups.read(key), headers=headers, media_type="application/zip")


async def delete_backup(request: Request) -> Response:
    require_superuser(await request_info(request))
    key = request.path_params["key"]
    try:
        await app_of(request).backups.delete(key)
    except BackupBusy as error:
        raise BadRequestError(
            "The backup is currently being used and cannot be deleted."
        ) from error
    except BlobNotFound as error:
        raise BadRequestError(
            f"Invalid or already deleted backup file. Raw error: \nno backup named {key!r}."
        ) from error
    return no_content()


async def restore_backup(request: Request) -> Response:
    require_superuser(await request_info(request))
    backups = app_of(request).backups
    if backups.active is not None:
        raise BadRequestError(MSG_BUSY)
    key = request.path_params["key"]
    if await backups.info(key) is None:
        raise BadRequestError("Missing or invalid backup file.")
    try:
        await backups.restore(key)
    except BackupBusy as error:
        raise BadRequestError(MSG_BUSY) from error
    except (BackupFailed, BlobNotFound) as error:
        raise BadRequestError(
            f"Failed to restore the backup, nothing was changed: {error}."
        ) from error
    return no_content()


routes = [
    Route("/api/backups", list_backups, methods=["GET"]),
    Route("/api/backups", create_backup, methods=["POST"]),
    Route("/api/backups/upload", upload_backup, methods=["POST"]),
    Route("/api/backups/{key}", download_backup, methods=["GET", "HEAD"]),
    Route("/api/backups/{key}", delete_backup, methods=["DELETE"]),
    Route("/api/backups/{key}/restore", restore_backup, methods=["POST"]),
]
