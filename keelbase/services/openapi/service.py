"""Documents per audience, built once per schema snapshot and route list.

A schema change gives a new snapshot (and version), so the next request builds
a fresh document; until then every caller gets the same encoded bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import orjson

from keelbase.core.collections.schema import Schema
from keelbase.services.openapi.document import build_document

Routes = tuple[tuple[str, str], ...]


class OpenApiService:
    def __init__(self, schema: Callable[[], Schema], version: str) -> None:
        self._schema = schema
        self._version = version
        self._cache: dict[bool, tuple[Schema, Routes, bytes]] = {}

    def document(self, routes: Iterable[tuple[str, str]], *, superuser: bool) -> bytes:
        """The description as JSON bytes; ``routes`` are (method, path) from the router."""
        schema = self._schema()
        route_key = tuple(routes)
        cached = self._cache.get(superuser)
        if cached is not None and cached[0] is schema and cached[1] == route_key:
            return cached[2]
        body = orjson.dumps(
            build_document(schema, route_key, superuser=superuser, version=self._version)
        )
        self._cache[superuser] = (schema, route_key, body)
        return body
