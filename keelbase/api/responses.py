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
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def json_response(content: Any, status: int = 200) -> Response:
    return JsonResponse(content, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)


def error_response(error: ApiError) -> Response:
    return JsonResponse(error.to_json(), status_code=error.status)
