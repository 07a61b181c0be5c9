"""JSON answers, encoded with orjson the way PocketBase's Go encoder orders them."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from keelbase.errors import ApiError

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> bytes:
    """Key order is built by the callers: records alphabetical, envelopes as PocketBase."""
    return orjson.dumps(value, option=_OPTIONS)


class JsonResponse(Response):
    """A JSON answer whose headers are built once, without Starlette's general path."""

    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200) -> None:
        self.status_code = status_code
        self.body = dumps(content)
        self.background = None
        self.raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
        ]


def json_response(content: Any, status: int = 200) -> Response:
    return JsonResponse(content, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)


def error_response(error: ApiError) -> Response:
    return JsonResponse(error.to_json(), status_code=error.status)
