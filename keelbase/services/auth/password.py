"""Password auth, token checks and the auth-methods listing.

Tokens are checked against the record's current tokenKey, so a password
change ends every earlier token. Checked tokens are cached briefly (the
records' tokenKey is the cache's validity), and a write to an auth record
drops its entries.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Protocol

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.indexes import column_name, parse_index
from keelbase.core.collections.system import SUPERUSERS
from keelbase.core.fields.email import is_email
from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo
from keelbase.errors import (
    MSG_UNAUTHORIZED,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    field_error,
    required_error,
)
from keelbase.events import AuthEvent
from keelbase.hooks import Hooks
from keelbase.services.auth import refs as auth_refs
from keelbase.services.auth import tokens
from keelbase.services.auth.login_guard import LoginGuard
from keelbase.services.auth.mfa import MfaService
from keelbase.services.auth.oauth2_methods import oauth2_methods
from keelbase.services.auth.passwords import (
    hash_password_async,
    needs_rehash,
    verify_password_async,
)
from keelbase.services.records.service import RecordsService

if TYPE_CHECKING:
    from keelbase.services.auth.superuser_ips import SuperuserIPs

MSG_MISSING_COLLECTION = "Missing or invalid collection context."
MSG_MISSING_AUTH_COLLECTION = "Missing or invalid auth collection context."
MSG_AUTH_FAILED = "Failed to authenticate."
CACHE_SIZE = 10_000
# Changes of auth records remembered for the race check in record_from_token.
CHANGES_KEPT = 10_000
CACHE_SECONDS = 30.0


class SignInAlerts(Protocol):
    """What is told of each sign-in (``AuthAlerts``: a new location's mail)."""

    async def signed_in(self, record: Record, info: RequestInfo, method: str) -> None: ...


class AuthService:
    def __init__(
        self,
        records: RecordsService,
        hooks: Hooks,
        login_guard: LoginGuard | None = None,
        alerts: SignInAlerts | None = None,
        superuser_ips: SuperuserIPs | None = None,
    ) -> None:
        """``login_guard`` counts sign-in attempts against brute force; ``alerts`` mails
        on sign-ins from new places; ``superuser_ips`` refuses superuser sign-ins from
        addresses not listed. All are optional so that tools (the CLI, an export) can
        check tokens without counters, a mailer or settings."""
        self.records = records
        self.hooks = hooks
        self.login_guard = login_guard
        self.alerts = alerts
        self.superuser_ips = superuser_ips
        # token -> (expiry, its record); dropped by forget() and by any schema change.
        self._cache: OrderedDict[str, tuple[float, Record]] = OrderedDict()
        # forget() numbers each change; a lookup that raced with a change of its record (a
        # change numbered after the lookup began) must not cache the old record. Keyed by
        # the record's identity (collection id, id): ids repeat across collections. Only the
        # latest CHANGES_KEPT are kept, so that it never grows with the number of users; a
        # lookup older than the oldest forgotten change is simply not cached.
        self._changes = 0
        self._changed: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._forgotten_upto = 0
        self.mfa = MfaService(records)
        records.on_delete(auth_refs.drop_when_deleted(records))

    def auth_collection(self, id_or_name: str) -> Collection:
        collection = self.records.schema.get(id_or_name)
        if collection is None:
            raise NotFoundError(MSG_MISSING_COLLECTION)
        if not collection.is_auth:
            raise NotFoundError(MSG_MISSING_AUTH_COLLECTION)
        return collection

    # Tokens ---------------------------------------------------------------

    async def record_from_token(self, token: str) -> Record | None:
        """The auth record a valid token belongs to; ``None`` for anything else."""
        if not token:
            return None
        cached = self._cache.get(token)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            hit = cached[1]
            # A schema change (e.g. a rotated secret) replaces collections: check again then.
            if self.records.schema.by_id(hit.collection.id) is hit.collection:
                return hit
        claims = tokens.unverified_claims(token)
        if claims is None or claims.get("type") != tokens.AUTH:
            return None
        collection = self.records.schema.by_id(claims["collectionId"])
        if collection is None or not collection.is_auth:
            return None
        began = self._changes
        found = await self.records.find_by_id(collection, claims["id"])
        if found is None or tokens.verify(token, found, tokens.auth_secret(collection)) is None:
            return None
        record = found
        if self._changed.get(record.identity, 0) > began or self._forgotten_upto > began:
            return record  # (maybe) changed while we read it: valid for this request, never cached
        expires = min(float(claims.get("exp", 0)) - time.time(), CACHE_SECONDS)
        self._cache[token] = (now + max(expires, 0.0), record)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return record

    async def record_from_file_token(self, token: str) -> Record | None:
        """The auth record of a valid file token (``?token=`` on protected files)."""
        claims = tokens.unverified_claims(token) if token else None
        if claims is None or claims.get("type") != tokens.FILE:
            return None
        collection = self.records.schema.by_id(claims["collectionId"])
        if collection is None or collection.auth is None:
            return None
        record = await self.records.find_by_id(collection, claims["id"])
        if record is None or tokens.verify(token, record, collection.auth.fileToken.secret) is None:
            return None
        return record

    def forget(self, record: Record) -> None:
        """Drop cached tokens of a record that changed (password, tokenKey, deletion).

        Only that record's: a record of another auth collection with the same id keeps its own.
        """
        identity = record.identity
        self._changes += 1
        self._changed[identity] = self._changes
        self._changed.move_to_end(identity)
        if len(self._changed) > CHANGES_KEPT:
            _, number = self._changed.popitem(last=False)
            self._forgotten_upto = number
        stale = [t for t, (_, r) in self._cache.items() if r.identity == identity]
        for token in stale:
            self._cache.pop(token, None)

    def forget_all(self) -> None:
        self._cache.clear()

    # Password auth ----------------------------------------------------------

    async def auth_with_password(
        self,
        collection: Collection,
        body: Any,
        info: RequestInfo,
        expand: str = "",
        client_ip: str = "",
    ) -> dict[str, Any]:
        assert collection.auth is not None
        if not collection.auth.passwordAuth.enabled:
            raise ForbiddenError(
                "The collection is not configured to allow password authentication."
            )
        if not isinstance(body, dict):
            raise BadRequestError("An error occurred while loading the submitted data.")
        identity = body.get("identity", "")
        password = body.get("password", "")
        identity_field = body.get("identityField", "")
        if not all(isinstance(v, str) for v in (identity, password, identity_field)):
            raise BadRequestError("An error occurred while loading the submitted data.")
        errors: dict[str, Any] = {}
        required = required_error()
        if not identity:
            errors["identity"] = required
        elif len(identity) > 255:
            errors["identity"] = _too_long(255)
        if not password:
            errors["password"] = required
        elif len(password) > 255:
            errors["password"] = _too_long(255)
        fields = collection.auth.passwordAuth.identityFields
        if identity_field and identity_field not in fields:
            errors["identityField"] = field_error("validation_in_invalid", "Must be a valid value.")
        if errors:
            raise BadRequestError("An error occurred while validating the submitted data.", errors)

        guard = self.login_guard
        if guard is not None:
            await guard.attempt(collection.id, identity, client_ip)
        record = await self._find_by_identity(collection, identity, identity_field)
        if not await verify_password_async(password, record.get("password") if record else None):
            if guard is not None:
                await guard.failed(client_ip)
            raise BadRequestError(MSG_AUTH_FAILED)
        assert record is not None
        if guard is not None:
            await guard.succeeded(collection.id, identity)
        if needs_rehash(record.get("password", "")):
            await self._rehash(record, password)
        return await self.auth_response(
            record, info.with_body({}), expand, context="password", mfa_id=body.get("mfaId")
        )

    async def _find_by_identity(
        self, collection: Collection, identity: str, identity_field: str
    ) -> Record | None:
        assert collection.auth is not None
        candidates = (
            [identity_field]
            if identity_field
            else list(collection.auth.passwordAuth.identityFields)
        )
        if not identity_field and "email" in candidates and is_email(identity):
            candidates.remove("email")
            candidates.insert(0, "email")
        unique = _unique_columns(collection)
        for name in candidates:
            if name == "email" and not identity_field and not is_email(identity):
                continue
            if name not in unique:
                continue
            record = await self.records.find_first(collection, name, identity)
            if record is not None:
                return record
        return None

    async def _rehash(self, record: Record, password: str) -> None:
        """Upgrade a bcrypt (PocketBase) hash to argon2id; tokens stay valid.

        Only while the stored hash is still the one just checked: a password
        changed meanwhile (a reset, an update) is never overwritten by the old one.
        """
        old_hash = record.get("password")
        record.data["password"] = await hash_password_async(password)
        async with self.records.transaction() as conn:
            await self.records.save(conn, record, ["password"], expect={"password": old_hash})

    async def auth_response(
        self,
        record: Record,
        info: RequestInfo,
        expand: str = "",
        context: str = "default",
        token: str = "",
        mfa_id: Any = None,
    ) -> dict[str, Any]:
        """Answer a sign-in whose first factor (``context``: its method) has passed.

        The one place every sign-in method ends: the collection's authRule,
        the ``record_auth`` hooks, then MFA (the sign-in completes, or the
        client gets ``401 {mfaId}``; ``mfa_id`` is the body's ``mfaId``), the
        login alert, and the token. ``context="default"`` (a refresh) is not
        a factor: no MFA and no alert.
        """
        collection = record.collection
        assert collection.auth is not None
        if self.superuser_ips is not None and collection.name == SUPERUSERS:
            self.superuser_ips.check(info.ip)
        rule = collection.auth.authRule
        as_self = RequestInfo(record, info.method, info.query, info.headers, {}, context)
        if rule is None:
            raise ForbiddenError(
                "The request doesn't satisfy the collection requirements to authenticate."
            )
        if (
            rule.strip()
            and await self.records.find_with_rule(collection, record.id, rule, as_self) is None
        ):
            raise ForbiddenError(
                "The request doesn't satisfy the collection requirements to authenticate."
            )
        event = AuthEvent(record, info, context if context != "default" else "refresh")

        async def respond(e: AuthEvent) -> None:
            await self.mfa.check(e.record, as_self, e.method, mfa_id)
            exported = (await self.records.export_many([e.record], as_self, expand))[0]
            if self.alerts is not None:
                await self.alerts.signed_in(e.record, info, e.method)
            e.result = {"record": exported, "token": token or tokens.issue_auth(e.record)}

        await self.hooks.record_auth.trigger(event, respond, (collection.name, collection.id))
        return event.result

    async def refresh(
        self, collection: Collection, info: RequestInfo, token: str, expand: str = ""
    ) -> dict[str, Any]:
        auth = info.auth
        if auth is None:
            raise UnauthorizedError(MSG_UNAUTHORIZED)
        if auth.collection.id != collection.id:
            raise ForbiddenError(
                f"The request requires auth record from {auth.collection.name} collection."
            )
        claims = tokens.unverified_claims(token)
        if not claims or not claims.get("refreshable"):
            # PocketBase answers with the same token: it keeps its expiry (impersonation).
            return await self.auth_response(auth, info, expand, token=token)
        return await self.auth_response(auth, info, expand)

    def methods(self, collection: Collection) -> dict[str, Any]:
        assert collection.auth is not None
        options = collection.auth
        fields = list(options.passwordAuth.identityFields)
        oauth2 = oauth2_methods(collection)
        return {
            "password": {"identityFields": fields, "enabled": options.passwordAuth.enabled},
            "oauth2": oauth2,
            "mfa": {
                "enabled": options.mfa.enabled,
                "duration": options.mfa.duration if options.mfa.enabled else 0,
            },
            "otp": {
                "enabled": options.otp.enabled,
                "duration": options.otp.duration if options.otp.enabled else 0,
            },
            "authProviders": [{**p, "logo": ""} for p in oauth2["providers"]],
            "usernamePassword": options.passwordAuth.enabled and "username" in fields,
            "emailPassword": options.passwordAuth.enabled and "email" in fields,
        }


def _too_long(limit: int) -> dict[str, Any]:
    return field_error(
        "validation_length_out_of_range",
        f"The length must be between 1 and {limit}.",
        {"max": limit, "min": 1},
    )


def _unique_columns(collection: Collection) -> set[str]:
    out: set[str] = set()
    for sql in collection.indexes:
        index = parse_index(sql)
        if index and index.unique and len(index.columns) == 1:
            out.add(column_name(index.columns[0]))
    return out
