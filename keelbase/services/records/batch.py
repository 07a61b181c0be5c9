"""``/api/batch``: several record writes in one transaction, all or nothing.

Each sub-request runs with the caller's auth (a sub-request's own
Authorization header is ignored, as PocketBase does) and ``@request.context``
"batch". The first failure rolls everything back and is reported by index.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from keelbase.core.collections.collection import Collection
from keelbase.core.filter import FilterError
from keelbase.core.records.fields_picker import parse_fields, pick
from keelbase.core.request_info import RequestInfo, header_key
from keelbase.errors import ApiError, BadRequestError, ForbiddenError, field_error
from keelbase.services.records.service import RecordsService
from keelbase.services.settings import SettingsService

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_FILE_KEY = re.compile(r"^requests(?:\.(\d+)|\[(\d+)\])\.(\w+[+-]?|\+\w+)$")
# Checks a sub-request against the rate limits: (collection, action tag, method, path).
LimitCheck = Callable[[Collection, str, str, str], Awaitable[None]]
_RECORDS_URL = re.compile(r"^/api/collections/([^/?#]+)/records(?:/([^/?#]+))?/?$")


class BatchService:
    def __init__(self, records: RecordsService, settings: SettingsService) -> None:
        self.records = records
        self.settings = settings

    def check_enabled(self) -> None:
        batch = self.settings.current.batch
        if not batch.enabled or batch.maxRequests <= 0:
            raise ForbiddenError("Batch requests are not allowed.")

    @staticmethod
    def attach_files(body: dict[str, Any]) -> None:
        """Multipart batches send files as ``requests.N.field`` (or ``requests[N].field``)."""
        requests = body.get("requests")
        if not isinstance(requests, list):
            return
        for key in [k for k in body if isinstance(k, str)]:
            match = _FILE_KEY.match(key)
            if not match:
                continue
            index, field = int(match.group(1) or match.group(2)), match.group(3)
            value = body.pop(key)
            if index >= len(requests) or not isinstance(requests[index], dict):
                continue
            target = requests[index].setdefault("body", {})
            if not isinstance(target, dict):
                continue
            uploads = value if isinstance(value, list) else [value]
            existing = target.get(field)
            if existing is None:
                target[field] = uploads
            else:
                target[field] = [
                    *(existing if isinstance(existing, list) else [existing]),
                    *uploads,
                ]

    def validate(self, body: Any) -> list[dict[str, Any]]:
        batch = self.settings.current.batch
        if not isinstance(body, dict) or not isinstance(body.get("requests", []), list):
            raise BadRequestError("Failed to read the submitted batch data.")
        requests = body.get("requests") or []
        if not requests:
            raise BadRequestError(
                "Invalid batch request data.",
                {"requests": field_error("validation_required", "Cannot be blank.")},
            )
        if len(requests) > batch.maxRequests:
            raise BadRequestError(
                "Invalid batch request data.",
                {
                    "requests": field_error(
                        "validation_length_too_long",
                        f"The length must be no more than {batch.maxRequests}.",
                        {"max": batch.maxRequests, "min": 0},
                    )
                },
            )
        errors: dict[str, Any] = {}
        for index, item in enumerate(requests):
            problems: dict[str, Any] = {}
            if not isinstance(item, dict):
                raise BadRequestError("Failed to read the submitted batch data.")
            method = item.get("method")
            url = item.get("url")
            if not method:
                problems["method"] = field_error("validation_required", "Cannot be blank.")
            elif not isinstance(method, str) or method.upper() not in METHODS:
                problems["method"] = field_error("validation_in_invalid", "Must be a valid value.")
            if not url:
                problems["url"] = field_error("validation_required", "Cannot be blank.")
            elif not isinstance(url, str) or len(url) > 2000:
                problems["url"] = field_error(
                    "validation_length_too_long", "The length must be no more than 2000."
                )
            if item.get("body") is not None and not isinstance(item.get("body"), dict):
                problems["body"] = field_error("validation_invalid_value", "Must be an object.")
            if item.get("headers") is not None and not isinstance(item.get("headers"), dict):
                problems["headers"] = field_error("validation_invalid_value", "Must be an object.")
            if problems:
                errors[str(index)] = problems
        if errors:
            raise BadRequestError("Invalid batch request data.", {"requests": errors})
        return requests

    async def run(
        self, body: Any, info: RequestInfo, limit: LimitCheck | None = None
    ) -> list[dict[str, Any]]:
        self.check_enabled()
        if isinstance(body, dict):
            self.attach_files(body)
        requests = self.validate(body)
        timeout = self.settings.current.batch.timeout or 3
        results: list[dict[str, Any]] = []
        index = 0
        try:
            async with asyncio.timeout(timeout), self.records.transaction():
                for position, item in enumerate(requests):
                    index = position
                    results.append(await self._one(item, info, limit))
        except ApiError as error:
            raise BadRequestError(
                "Batch transaction failed.",
                {
                    "requests": {
                        str(index): {
                            "code": "batch_request_failed",
                            "message": "Batch request failed.",
                            "response": error.to_json(),
                        }
                    }
                },
            ) from error
        except TimeoutError as error:
            raise BadRequestError("Batch transaction failed.") from error
        return results

    async def _one(
        self, item: dict[str, Any], info: RequestInfo, limit: LimitCheck | None = None
    ) -> dict[str, Any]:
        method = str(item["method"]).upper()
        try:
            parts = urlsplit(str(item["url"]))
        except ValueError as error:  # "http://[::1/..."
            raise BadRequestError() from error
        match = _RECORDS_URL.match(parts.path)
        if match is None or method == "GET":
            raise BadRequestError()
        query = dict(parse_qsl(parts.query))
        headers = {
            header_key(k): str(v)
            for k, v in (item.get("headers") or {}).items()
            if isinstance(k, str) and k.lower() != "authorization"
        }
        sub_info = RequestInfo(info.auth, method, query, {**info.headers, **headers}, {}, "batch")
        collection = self.records.collection(match.group(1))
        record_id = match.group(2)
        body = item.get("body") or {}
        expand = query.get("expand", "")
        try:
            tree = parse_fields(query.get("fields", ""))
        except FilterError as error:
            raise BadRequestError() from error

        async def limited(tag: str) -> None:
            if limit is not None:
                await limit(collection, tag, method, parts.path)

        if method == "POST" and record_id is None:
            await limited("create")
            result = await self.records.create(collection, body, sub_info, expand)
        elif method == "PATCH" and record_id is not None:
            await limited("update")
            result = await self.records.update(collection, record_id, body, sub_info, expand)
        elif method == "DELETE" and record_id is not None:
            await limited("delete")
            await self.records.delete(collection, record_id, sub_info)
            return {"body": None, "status": 204}
        elif method == "PUT" and record_id is None:
            existing_id = body.get("id") if isinstance(body.get("id"), str) else ""
            existing = None
            if existing_id:
                async with self.records.transaction() as conn:  # joins the batch's
                    # concurrent upserts of one id: one creates, the others then update
                    await self.records.lock_id(conn, collection, existing_id)
                existing = await self.records.find_by_id(collection, existing_id)
            if existing is not None:
                await limited("update")
                result = await self.records.update(collection, existing.id, body, sub_info, expand)
            else:
                await limited("create")
                result = await self.records.create(collection, body, sub_info, expand)
        else:
            raise BadRequestError()
        return {"body": pick(result, tree), "status": 200}
