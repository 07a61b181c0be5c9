"""Multi-factor auth: a first factor either completes the sign-in or becomes a challenge.

When an auth collection has ``mfa.enabled`` (and its ``mfa.rule``, if any,
matches the record), a sign-in that proved one factor (password, OTP,
OAuth2…) is not answered with a token: an ``_mfas`` record remembers which
method passed, and the client gets ``401 {"mfaId": ...}``. Signing in again
with a *different* method and that ``mfaId`` (query or body) completes it.

As in PocketBase, methods are not paired: any two different ones will do.
An ``_mfas`` record lives ``mfa.duration`` seconds; expired ones are refused
and removed.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.filter import FilterError
from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo
from keelbase.errors import ApiError, BadRequestError, MfaRequiredError
from keelbase.services.auth import refs as auth_refs
from keelbase.services.records.service import RecordsService

# Auth responses that prove no factor (a token refresh, an impersonation): never challenged.
NOT_A_FACTOR = frozenset({"", "default", "refresh", "impersonate"})
MSG_FAILED = "Failed to authenticate."
MSG_READ_ID = "Failed to read MFA Id."
MSG_INVALID_OR_EXPIRED = "Invalid or expired MFA session."
MSG_INVALID = "Invalid MFA session."
MSG_SAME_METHOD = "A different authentication method is required."


class MfaService:
    def __init__(self, records: RecordsService) -> None:
        self.records = records

    async def check(self, record: Record, info: RequestInfo, method: str, body_mfa_id: Any) -> None:
        """Return if the sign-in may complete; else raise ``MfaRequiredError`` or a 400.

        ``info`` is the request as the record sees it (for ``mfa.rule``);
        ``body_mfa_id`` is the body's ``mfaId`` (``None`` if absent), used
        when the query has none.
        """
        options = record.collection.auth
        assert options is not None
        if not options.mfa.enabled or method in NOT_A_FACTOR:
            return
        if not await self._wanted(record, info):
            return
        mfa_id = info.query.get("mfaId", "")
        if not mfa_id and body_mfa_id is not None:
            if not isinstance(body_mfa_id, str):
                raise BadRequestError(MSG_READ_ID)
            mfa_id = body_mfa_id
        if not mfa_id:
            raise MfaRequiredError(await self._start(record, method))
        await self._finish(record, method, mfa_id)

    async def _wanted(self, record: Record, info: RequestInfo) -> bool:
        options = record.collection.auth
        assert options is not None
        rule = options.mfa.rule
        if not rule.strip():
            return True
        try:
            found = await self.records.find_with_rule(record.collection, record.id, rule, info)
        except (FilterError, ApiError) as error:
            raise BadRequestError(MSG_FAILED) from error
        return found is not None

    async def _start(self, record: Record, method: str) -> str:
        options = record.collection.auth
        assert options is not None
        await auth_refs.delete_older_than(
            self.records, auth_refs.MFAS, record.collection.id, options.mfa.duration
        )
        mfa = auth_refs.new_ref_record(self.records, auth_refs.MFAS, record, method=method)
        await self.records.insert_trusted(mfa)
        return mfa.id

    async def _finish(self, record: Record, method: str, mfa_id: str) -> None:
        options = record.collection.auth
        assert options is not None
        mfa = await auth_refs.find(self.records, auth_refs.MFAS, mfa_id)
        if mfa is None or auth_refs.has_expired(mfa, options.mfa.duration):
            if mfa is not None:
                await auth_refs.delete(self.records, mfa)
            raise BadRequestError(MSG_INVALID_OR_EXPIRED)
        if mfa.get("recordRef") != record.id or mfa.get("collectionRef") != record.collection.id:
            raise BadRequestError(MSG_INVALID)
        if mfa.get("method") == method:
            raise BadRequestError(MSG_SAME_METHOD)
        # Deleting is the claim: of two second factors racing with one mfaId, one wins.
        if not await auth_refs.delete(self.records, mfa):
            raise BadRequestError(MSG_INVALID_OR_EXPIRED)
