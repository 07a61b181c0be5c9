"""``/api/files``: download stored files and thumbnails; tokens for protected files."""

from __future__ import annotations

import re
from email.utils import formatdate
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from keelbase.adapters.blobs import BlobNotFound
from keelbase.api.request import app_of, query_of, request_info, require_auth
from keelbase.api.responses import json_response
from keelbase.core.collections.system import SUPERUSERS
from keelbase.core.fields import FileField
from keelbase.core.mime import INLINE_TYPES, base_type
from keelbase.core.request_info import RequestInfo
from keelbase.errors import ApiError, NotFoundError
from keelbase.services.auth import tokens

_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
# Beyond any file's size; int() refuses more than 4300 digits, so longer numbers are this.
_PAST_ANY_END = 2**63
CACHE_CONTROL = "max-age=2592000, stale-while-revalidate=86400"
CSP = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox"


def _position(digits: str) -> int:
    return int(digits) if len(digits) < 19 else _PAST_ANY_END


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single range asked for, or ``None`` for the whole file; 416 when unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # several ranges or another unit: send everything, as servers may
    first, last = (_position(n) if n else None for n in match.groups())
    if first is None and last is None:
        return None
    if first is None:
        assert last is not None
        start, end = max(size - last, 0), size - 1
    else:
        start = first
        end = min(last, size - 1) if last is not None else size - 1
    if start >= size or start > end:
        raise ApiError(416, "Range Not Satisfiable.")
    return start, end


async def download(request: Request) -> Response:
    app = app_of(request)
    collection = app.records.schema.get(request.path_params["collection"])
    if collection is None:
        raise NotFoundError("Missing or invalid collection context.")
    record = await app.records.find_by_id(collection, request.path_params["record"])
    if record is None:
        raise NotFoundError()
    name = request.path_params["filename"]
    field = next(
        (
            f
            for f in collection.fields
            if isinstance(f, FileField) and name in f.as_list(record.get(f.name))
        ),
        None,
    )
    if field is None:
        raise NotFoundError()
    if field.protected:
        auth = await app.auth.record_from_file_token(query_of(request).get("token", ""))
        base = await request_info(request)
        superuser = auth is not None and auth.collection.name == SUPERUSERS
        if superuser and not app.superuser_ips.allowed(base.ip):
            auth = None  # as PocketBase: from elsewhere a superuser's file token is none
        info = RequestInfo(auth, base.method, base.query, base.headers, {}, "protectedFile")
        rule = collection.viewRule
        allowed = info.is_superuser or (
            rule is not None
            and await app.records.find_with_rule(collection, record.id, rule, info) is not None
        )
        if not allowed:
            raise NotFoundError()
    try:
        served = await app.files.locate(record, name, query_of(request).get("thumb", ""))
    except (BlobNotFound, ValueError) as error:
        raise NotFoundError() from error
    size = served.info.size
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": CACHE_CONTROL,
        "Content-Security-Policy": CSP,
        "Last-Modified": formatdate(served.info.modified, usegmt=True),
    }
    inline = base_type(served.content_type) in INLINE_TYPES and query_of(request).get(
        "download"
    ) in (None, "", "0", "false")
    disposition = "inline" if inline else "attachment"
    headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{served.name}\"; filename*=UTF-8''{quote(served.name)}"
    )
    span = _byte_range(request.headers.get("range"), size)
    status = 200
    start, end = 0, size - 1
    if span is not None:
        start, end = span
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(max(end - start + 1, 0))
    if request.method == "HEAD" or size == 0:
        return Response(b"", status_code=status, headers=headers, media_type=served.content_type)
    return StreamingResponse(
        app.files.stream(served.key, start, end),
        status_code=status,
        headers=headers,
        media_type=served.content_type,
    )


async def file_token(request: Request) -> Response:
    info = await request_info(request)
    require_auth(info)
    assert info.auth is not None
    return json_response({"token": tokens.issue_file(info.auth)})


routes = [
    Route("/api/files/token", file_token, methods=["POST"]),
    # ``path`` so that an encoded "/" in the name is still answered here (with a 404).
    Route("/api/files/{collection}/{record}/{filename:path}", download, methods=["GET", "HEAD"]),
]
