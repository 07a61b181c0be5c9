"""``POST /api/collections/meta/dry-run-view``: a view's fields and first records before it exists.

The SDK's ``collections.dryRunViewQuery``; PocketBase's dashboard calls it while
a view query is typed. The sample is the first 10 rows, exported as a
superuser sees records; empty or repeated ids in it are refused, as when the
view is saved.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.request_info import RequestInfo
from keelbase.errors import BadRequestError
from keelbase.services.collections.service import CollectionsService
from keelbase.services.records.service import RecordsService
from keelbase.services.sql_console import query_of

SAMPLE_SIZE = 10
MSG_INVALID = "Invalid view query. Raw error: \n"


async def dry_run_view(
    collections: CollectionsService,
    records: RecordsService,
    body: dict[str, Any],
    info: RequestInfo,
) -> dict[str, Any]:
    collection, rows = await collections.sample_view(query_of(body), SAMPLE_SIZE)
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
