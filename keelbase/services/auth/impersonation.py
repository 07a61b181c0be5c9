"""Superusers sign in as any auth record, with a token that cannot be refreshed.

The token is an ordinary auth token (same secret, same checks) whose
``refreshable`` claim is false, so it dies at its expiry; its duration is the
caller's (seconds, 0 = the collection's ``authToken.duration``).
"""

from __future__ import annotations

from typing import Any

from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo
from keelbase.errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    field_error,
)
from keelbase.events import AuthEvent
from keelbase.hooks import Hooks
from keelbase.services.auth import tokens
from keelbase.services.auth.mail_flows import MSG_NOT_AUTH_COLLECTION, AuthMailService
from keelbase.services.auth.mail_forms import MSG_LOAD, BodyLoader, raise_if

MSG_NOT_ALLOWED = "The authorized record is not allowed to perform this action."


class ImpersonationService:
    def __init__(self, auth_mail: AuthMailService, hooks: Hooks) -> None:
        self.auth_mail = auth_mail
        self.records = auth_mail.records
        self.hooks = hooks

    async def impersonate(
        self,
        collection_name: str,
        record_id: str,
        info: RequestInfo,
        load: BodyLoader,
        expand: str = "",
    ) -> dict[str, Any]:
        if info.auth is None:
            raise UnauthorizedError()
        if not info.is_superuser:
            raise ForbiddenError(MSG_NOT_ALLOWED)
        collection = self.auth_mail.auth_collection(
            collection_name, unknown=MSG_NOT_AUTH_COLLECTION
        )
        record = await self.records.find_by_id(collection, record_id)
        if record is None:
            raise NotFoundError()
        duration = (await load()).get("duration")
        if duration is None:
            duration = 0
        if not isinstance(duration, int) or isinstance(duration, bool):
            raise BadRequestError(MSG_LOAD)
        if duration < 0:
            raise_if(
                {
                    "duration": field_error(
                        "validation_min_greater_equal_than_required",
                        "Must be no less than 0.",
                        {"threshold": 0},
                    )
                }
            )
        token = tokens.issue_auth(record, refreshable=False, duration=duration or None)
        return await self._respond(record, token, info, expand)

    async def _respond(
        self, record: Record, token: str, info: RequestInfo, expand: str
    ) -> dict[str, Any]:
        """``{token, record}`` through the ``record_auth`` hooks; the record as the caller sees it."""
        collection = record.collection
        event = AuthEvent(record, info.with_body({}), "impersonate")

        async def respond(e: AuthEvent) -> None:
            exported = (await self.records.export_many([e.record], e.info, expand))[0]
            e.result = {"record": exported, "token": token}

        await self.hooks.record_auth.trigger(event, respond, (collection.name, collection.id))
        return event.result
