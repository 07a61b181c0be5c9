"""Reading a request: its auth, its body (JSON, multipart or urlencoded) and its query.

Bodies are read with a size limit; anything malformed is a 400 in PocketBase's
shape, never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request

from keelbase.api.body_json import parse_json
from keelbase.api.client_ip import client_ip
from keelbase.core.filter import FilterError
from keelbase.core.records.fields_picker import Tree, parse_fields
from keelbase.core.request_info import RequestInfo, header_key
from keelbase.errors import (
    MSG_LOAD,
    MSG_UNAUTHORIZED,
    BadRequestError,
    ForbiddenError,
    TooLargeError,
    UnauthorizedError,
    field_error,
)

if TYPE_CHECKING:
    from keelbase.app import App

MSG_UNSUPPORTED_TYPE = "Unsupported Content-Type."
JSON_PAYLOAD = "@jsonPayload"
_NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?$")


def app_of(request: Request) -> App:
    app: App | None = request.scope["app"].keelbase  # set by ``build_asgi``
    assert app is not None
    return app


def token_of(request: Request) -> str:
    header = ""
    for name, value in request.scope["headers"]:
        if name == b"authorization":
            header = value.decode("latin-1")
            break
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return header.strip()


class LazyHeaders(dict[str, str]):
    """Request headers as rules see them, built only if a rule looks at them."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        super().__init__()
        self._raw: list[tuple[bytes, bytes]] | None = raw

    def _fill(self) -> None:
        if self._raw is not None:
            raw, self._raw = self._raw, None
            for name, value in raw:
                key = header_key(name.decode("latin-1"))
                if key not in self:
                    super().__setitem__(key, value.decode("latin-1"))

    def __getitem__(self, key: str) -> str:
        self._fill()
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._fill()
        return super().__contains__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._fill()
        return super().get(key, default)

    def __iter__(self) -> Any:
        self._fill()
        return super().__iter__()

    def __len__(self) -> int:
        self._fill()
        return super().__len__()

    def items(self) -> Any:
        self._fill()
        return super().items()

    def keys(self) -> Any:
        self._fill()
        return super().keys()

    def values(self) -> Any:
        self._fill()
        return super().values()


async def request_info(request: Request) -> RequestInfo:
    """Who is asking, and what they sent besides the body (set by the service)."""
    cached: RequestInfo | None = request.scope.get("keelbase.info")
    if cached is None:
        token = token_of(request)
        app = app_of(request)
        auth = await app.auth.record_from_token(token) if token else None
        cached = RequestInfo(
            auth=auth,
            method=request.method,
            query=query_of(request),
            headers=LazyHeaders(request.scope["headers"]),
            ip=client_ip(request.scope, app.settings.current.trustedProxy),
        )
        request.scope["keelbase.info"] = cached
    return cached


def query_of(request: Request) -> dict[str, str]:
    """The query string's first values, parsed once per request."""
    cached: dict[str, str] | None = request.scope.get("keelbase.query")
    if cached is None:
        raw = request.scope.get("query_string", b"")
        cached = {}
        if raw:
            for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
                cached.setdefault(key, value)
        request.scope["keelbase.query"] = cached
    return cached


def require_superuser(info: RequestInfo) -> None:
    if info.auth is None:
        raise UnauthorizedError(MSG_UNAUTHORIZED)
    if not info.is_superuser:
        raise ForbiddenError("The authorized record is not allowed to perform this action.")


def require_auth(info: RequestInfo) -> None:
    if info.auth is None:
        raise UnauthorizedError(MSG_UNAUTHORIZED)


def fields_tree(request: Request) -> Tree:
    text = query_of(request).get("fields", "")
    if not text:
        return {}
    try:
        return parse_fields(text)
    except FilterError as error:
        raise BadRequestError(
            data={"fields": field_error("validation_invalid_value", str(error))}
        ) from error


async def read_raw(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLargeError()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError()
        chunks.append(chunk)
    return b"".join(chunks)


def infer(value: str) -> Any:
    """Multipart and urlencoded values are typed as PocketBase types them."""
    if value in ("true", "false"):
        return value == "true"
    if _NUMBER.match(value):
        number = float(value)
        canonical = str(int(number)) if number.is_integer() and "." not in value else repr(number)
        if canonical == value:
            return int(number) if number.is_integer() else number
    return value


def _counted(request: Request, limit: int) -> Request:
    """The same request, whose body raises ``TooLargeError`` past ``limit`` bytes as it streams."""
    received = 0

    async def receive() -> Any:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise TooLargeError()
        return message

    return Request(request.scope, receive)


async def read_body(
    request: Request,
    load_error: str = "Failed to load the submitted data due to invalid formatting.",
    limit: int | None = None,
) -> dict[str, Any]:
    """The body as a dict of values; uploaded files are left as ``UploadFile`` values.

    Uploads are spooled to disk by the multipart parser, so a large file costs
    disk, not memory.
    """
    limit = limit or app_of(request).config.max_body_size
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return await _read_form(request, limit, load_error)
    raw = await read_raw(request, limit)
    if not raw.strip():
        return {}
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise BadRequestError(MSG_UNSUPPORTED_TYPE)
    data = await parse_json(raw, load_error)
    if data is None:  # JSON null: an empty body, as PocketBase reads it
        return {}
    if not isinstance(data, dict):
        raise BadRequestError(load_error)
    return data


def lazy_body(request: Request) -> Callable[[], Awaitable[dict[str, Any]]]:
    """The body, read when a service asks for it: after its own first checks, so a
    missing collection or a disabled feature is reported before a malformed body,
    in PocketBase's order."""
    return partial(read_body, request, MSG_LOAD)


async def _read_form(request: Request, limit: int, load_error: str) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLargeError()
    try:
        form = await _counted(request, limit).form(
            max_files=1000, max_fields=10000, max_part_size=limit
        )
    except TooLargeError:
        raise
    except Exception as error:  # multipart's own parse errors have no common base class
        raise BadRequestError(load_error) from error
    data: dict[str, Any] = {}
    payloads: list[str] = []
    for key, value in form.multi_items():
        if key == JSON_PAYLOAD and isinstance(value, str):
            payloads.append(value)
            continue
        item: Any = value if isinstance(value, UploadFile) else infer(value)
        if key in data:
            existing = data[key]
            data[key] = [*existing, item] if isinstance(existing, list) else [existing, item]
        else:
            data[key] = item
    for payload in payloads:
        parsed = await parse_json(payload.encode(), load_error)
        if isinstance(parsed, dict):
            data.update(parsed)
    return data
