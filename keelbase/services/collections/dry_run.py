"""``POST /api/collections/meta/dry-run-view``: a view's fields and first records before it exists.

The SDK's ``collections.dryRunViewQuery``; PocketBase's dashboard calls it while
a view query is typed. The sample is the first 10 rows, exported as a
superuser sees records; empty or repeated ids in it are refused, as when the
view is saved.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.request_info import RequestInfo
from keelbase.errors import BadRequestError, field_error, required_error
from keelbase.services.collections.service import CollectionsService
from keelbase.services.records.service import RecordsService

SAMPLE_SIZE = 10
MAX_QUERY = 5000
MSG_INVALID = "Invalid view query. Raw error: \n"


def _query_of(body: dict[str, Any]) -> str:
    query = body.get("query", "")
    if not isinstance(query, str):
        raise BadRequestError("An error occurred while loading the submitted data.")
    problem = None
    if not query:
        problem = required_error()
    elif len(query) > MAX_QUERY:
        problem = field_error(
            "validation_length_too_long",
            f"The length must be no more than {MAX_QUERY}.",
            {"max": MAX_QUERY, "min": 0},
        )
    if problem is not None:
        raise BadRequestError(
            "An error occurred while validating the submitted data.", {"query": problem}
        )
    return query


async def dry_run_view(
    collections: CollectionsService,
    records: RecordsService,
    body: dict[str, Any],
    info: RequestInfo,
) -> dict[str, Any]:
    collection, rows = await collections.sample_view(_query_of(body), SAMPLE_SIZE)
    sample = records.codec.from_rows(collection, rows)
    seen: set[str] = set()
    for record in sample:
        raw_id = record.data.get("id")
        record.data["id"] = "" if raw_id is None else str(raw_id)  # PocketBase's ids are text
        if not record.id:
            raise BadRequestError(
                MSG_INVALID + "the query could return records with empty or invalid ids"
            )
        if record.id in seen:
            raise BadRequestError(
                MSG_INVALID + "the query could return records with non-unique ids"
            )
        seen.add(record.id)
    return {
        "fields": collection.to_json()["fields"],
        "sample": await records.export_many(sample, info),
    }
