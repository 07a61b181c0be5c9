"""Which entries the settings no longer keep: older than ``logs.maxDays`` days, or below
``logs.minLevel``. PocketBase deletes them every six hours (its ``__pbLogsCleanup__``
cron job, kept under the same name) and whenever the log settings change."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from keelbase.core.dates import format_datetime, now
from keelbase.services.settings import Logs

JOB_NAME = "__pbLogsCleanup__"
JOB_SCHEDULE = "0 */6 * * *"


def expired(settings: Logs, at: datetime | None = None) -> tuple[str, dict[str, Any]]:
    """The WHERE clause and parameters of the entries to delete; ``maxDays: 0`` is all of them."""
    moment = at or now()
    # more days than since year 1 (maxDays: 1e18): no entry is old enough
    days = min(max(settings.maxDays, 0), (moment - datetime.min.replace(tzinfo=moment.tzinfo)).days)
    before = moment - timedelta(days=days)
    return (
        '"created" <= :before OR "level" < :min_level',
        {"before": format_datetime(before), "min_level": settings.minLevel},
    )
