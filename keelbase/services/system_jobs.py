"""PocketBase's system cron jobs, listed and runnable through ``/api/crons`` like any other.

``__pbDBOptimize__`` (daily): the store's housekeeping. ``__pbMFACleanup__`` and
``__pbOTPCleanup__`` (hourly): MFA sessions and one-time passwords past their
collection's duration are deleted, through the delete hooks, for every auth
collection whether or not the method is on (no dangling rows), as PocketBase does.
The logs cleanup and automatic backups are registered by their own features.
"""

from __future__ import annotations

from functools import partial

from keelbase.services.auth import refs
from keelbase.services.cron import CronService
from keelbase.services.records.service import RecordsService
from keelbase.store.base import Store

SYSTEM_OWNER = "__system__"
# PocketBase's jobs, and Keelbase's own (``__kbSyncPrune__``).
SYSTEM_PREFIX = ("__pb", "__kb")


async def delete_expired(records: RecordsService, name: str) -> None:
    """Delete the ``_otps`` or ``_mfas`` rows older than their auth collection allows."""
    if records.schema.get(name) is None:
        return
    for collection in list(records.schema):
        if not collection.is_auth or collection.auth is None:
            continue
        options = collection.auth.mfa if name == refs.MFAS else collection.auth.otp
        await refs.delete_older_than(records, name, collection.id, options.duration)


def register(crons: CronService, store: Store, records: RecordsService) -> None:
    crons.add("__pbDBOptimize__", "0 0 * * *", store.optimize, SYSTEM_OWNER)
    crons.add(
        "__pbMFACleanup__", "0 * * * *", partial(delete_expired, records, refs.MFAS), SYSTEM_OWNER
    )
    crons.add(
        "__pbOTPCleanup__", "0 * * * *", partial(delete_expired, records, refs.OTPS), SYSTEM_OWNER
    )
