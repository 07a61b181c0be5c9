"""OAuth2 sign-in as PocketBase does it: list providers, exchange a code, link or create.

A sign-in finds the record in this order: the ``_externalAuths`` link for
(provider, provider's user id); the record already signed in on this
collection (the request's token), which gets linked; a record with the
provider's verified email, which gets linked; else a new record (``createData``
plus the collection's mapped fields, a random password, verified when its
email is the provider's) if the collection's create rule allows it. All of it
is one transaction; the answer then goes through ``AuthService.auth_response``
(context ``oauth2``), so auth rules, MFA and hooks apply as for passwords.

A record that never verified its email gets a new random password, and loses
every provider link it had, when someone signs in to it with a provider (other
than the record itself, signed in): whoever registered that address before
without owning it loses access, by password or by their own provider account.
A new record keeps an email sent in ``createData`` (unverified, unless it is the
provider's); otherwise it gets the provider's.

The providers' HTTP (httpx and ``adapters/oauth2``) is imported on the first
sign-in, not at start: most apps never use it, and it costs a start a tenth of
its time.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import orjson

from keelbase.core.auth.options import OAuth2Provider
from keelbase.core.collections.collection import Collection
from keelbase.core.collections.indexes import column_name, parse_index
from keelbase.core.fields import FileField, TextField
from keelbase.core.fields.base import FieldInvalid
from keelbase.core.fields.file import DEFAULT_MAX_SIZE
from keelbase.core.ids import random_string
from keelbase.core.records.record import Record
from keelbase.core.request_info import SUPERUSERS, RequestInfo
from keelbase.errors import (
    MSG_LOAD,
    ApiError,
    BadRequestError,
    ForbiddenError,
    field_error,
    required_error,
)
from keelbase.services.auth.oauth2_methods import ALPHANUMERIC, enabled_providers
from keelbase.services.records.service import RecordsService

if TYPE_CHECKING:
    import httpx

    from keelbase.adapters.oauth2 import AuthUser, Provider
    from keelbase.services.auth.password import AuthService
    from keelbase.store.base import Connection

log = logging.getLogger("keelbase.oauth2")

MSG_DISABLED = "The collection is not configured to allow OAuth2 authentication."
MSG_TOKEN = "Failed to fetch OAuth2 token."
MSG_USER = "Failed to fetch OAuth2 user."
MSG_AUTH_FAILED = "Failed to authenticate."
EXTERNAL_AUTHS = "_externalAuths"
NAME_SECONDS = 60.0  # how long an Apple name from the redirect waits for its sign-in
MAX_NAMES = 10_000
AVATAR_TIMEOUT = 15.0


@dataclass
class SignInForm:
    provider: OAuth2Provider
    code: str
    code_verifier: str
    redirect_url: str
    create_data: dict[str, Any]


@dataclass
class DownloadedFile:
    """An avatar fetched from the provider, handed to the file field like an upload."""

    filename: str
    file: io.BytesIO
    size: int


class OAuth2Service:
    def __init__(self, auth: AuthService, records: RecordsService) -> None:
        self.auth = auth
        self.records = records
        self._http: httpx.AsyncClient | None = None
        # Apple's name arrives once, at the redirect; it waits here for the sign-in, by code.
        self._names: dict[str, tuple[float, str]] = {}
        # A deleted auth record's links go with it: auth_refs.drop_when_deleted.

    def http(self) -> httpx.AsyncClient:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # The redirect's side ---------------------------------------------------------

    def remember_name(self, code: str, serialized_user: str) -> None:
        """Keep the name Apple posts with the redirect (``user`` JSON) for the code's sign-in."""
        if not code or not serialized_user or len(code) > 1000 or len(serialized_user) > 10_000:
            return
        try:
            user = orjson.loads(serialized_user)
        except orjson.JSONDecodeError:
            return
        name = user.get("name") if isinstance(user, dict) else None
        if not isinstance(name, dict):
            return
        parts = [name.get("firstName"), name.get("lastName")]
        full = " ".join(p for p in parts if isinstance(p, str)).strip()[:150]
        if not full:
            return
        now = time.monotonic()
        self._names = {k: v for k, v in self._names.items() if v[0] > now}
        if len(self._names) < MAX_NAMES:
            self._names[code] = (now + NAME_SECONDS, full)

    def _take_name(self, code: str) -> str:
        entry = self._names.pop(code, None)
        return entry[1] if entry and entry[0] > time.monotonic() else ""

    # Sign-in -------------------------------------------------------------------------

    async def auth_with_oauth2(
        self, collection: Collection, body: Any, info: RequestInfo, expand: str = ""
    ) -> dict[str, Any]:
        if not _enabled(collection):
            raise ForbiddenError(MSG_DISABLED)
        from keelbase.adapters.oauth2 import provider_for

        form = self._read_form(collection, body)
        provider = provider_for(form.provider, self.http())
        assert provider is not None
        user = await self._fetch_user(provider, form)
        homes = _origins(provider.auth_url, provider.token_url, provider.user_info_url)
        record, is_new = await self._sign_in(collection, form, user, info, homes)
        mfa_id = body.get("mfaId") if isinstance(body, dict) else None
        result = await self.auth.auth_response(
            record, info.with_body({}), expand, "oauth2", mfa_id=mfa_id
        )
        return {"meta": user.meta(is_new), **result}

    def _read_form(self, collection: Collection, body: Any) -> SignInForm:
        if not isinstance(body, dict):
            raise BadRequestError(MSG_LOAD)
        values: dict[str, str] = {}
        for key in ("provider", "code", "codeVerifier", "redirectURL", "redirectUrl"):
            value = body.get(key, "")
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise BadRequestError(MSG_LOAD)
            values[key] = value
        create_data = body.get("createData")
        if create_data is None:
            create_data = {}
        if not isinstance(create_data, dict):
            raise BadRequestError(MSG_LOAD)
        errors: dict[str, Any] = {}
        required = required_error()
        if not values["code"]:
            errors["code"] = dict(required)
        name = values["provider"]
        config = next((p for p in enabled_providers(collection) if p.name == name), None)
        if not name:
            errors["provider"] = dict(required)
        elif config is None:
            errors["provider"] = field_error(
                "validation_invalid_provider",
                f"Provider with name {name} is missing or is not enabled.",
                {"name": name},
            )
        if errors:
            raise BadRequestError(MSG_LOAD, errors)
        assert config is not None
        return SignInForm(
            config,
            values["code"],
            values["codeVerifier"],
            values["redirectURL"] or values["redirectUrl"],
            create_data,
        )

    async def _fetch_user(self, provider: Provider, form: SignInForm) -> AuthUser:
        from keelbase.adapters.oauth2 import ProviderError

        try:
            token = await provider.fetch_token(form.code, form.code_verifier, form.redirect_url)
        except ProviderError as error:
            log.debug("OAuth2 %s token exchange failed: %s", form.provider.name, error)
            raise BadRequestError(MSG_TOKEN) from error
        try:
            user = await provider.fetch_user(token)
        except ProviderError as error:
            log.debug("OAuth2 %s user fetch failed: %s", form.provider.name, error)
            raise BadRequestError(MSG_USER) from error
        if not user.name:
            user.name = self._take_name(form.code)
        return user

    async def _sign_in(
        self,
        collection: Collection,
        form: SignInForm,
        user: AuthUser,
        info: RequestInfo,
        homes: frozenset[str],
    ) -> tuple[Record, bool]:
        """Find, link or create the record, in one transaction; True when it is new."""
        links = self.records.collection(EXTERNAL_AUTHS)
        name = form.provider.name
        avatar: DownloadedFile | None = None
        if (await self._lookup(links, collection, name, user, info))[1] is None:
            # Likely a sign-up: fetch the avatar now, not while holding the write transaction.
            avatar = await self._avatar_file(collection, user, homes)
        async with self.records.transaction() as conn:
            link, record = await self._lookup(links, collection, name, user, info)
            if link is not None and str(link.get("recordRef")) != (record.id if record else ""):
                await self.records.delete_record(conn, link)  # its record is gone: stale
                link = None
            is_new = record is None
            if record is None:
                record = await self._create(collection, form.create_data, user, info, avatar)
            else:
                if not record.get("verified"):
                    # Whoever pre-created this unverified record (with someone else's
                    # address) may have linked a provider account of theirs: drop every link.
                    await self._unlink_all(conn, links, record)
                    link = None
                record = await self._settle_existing(record, user, info)
            if link is None:
                await self._link(links, record, name, user.id)
        return record, is_new

    async def _lookup(
        self,
        links: Collection,
        collection: Collection,
        provider: str,
        user: AuthUser,
        info: RequestInfo,
    ) -> tuple[Record | None, Record | None]:
        """The provider account's link (if any) and the record that signs in (if any)."""
        link = await self._find_link(links, collection, provider, user.id)
        record: Record | None = None
        if link is not None:
            record = await self.records.find_by_id(collection, str(link.get("recordRef")))
        signed_in = info.auth
        if record is None and signed_in and signed_in.collection.id == collection.id:
            record = await self.records.find_by_id(collection, signed_in.id)
        if record is None and user.email:
            record = await self._find_by_email(collection, user.email)
        return link, record

    async def _link(
        self, links: Collection, record: Record, provider: str, provider_id: str
    ) -> None:
        """Record the link; a record has one link per provider (another account of the
        same provider is refused)."""
        data = {"collectionRef": record.collection.id, "recordRef": record.id,
                "provider": provider, "providerId": provider_id}  # fmt: skip
        try:
            await self.records.create_record(
                links, data, RequestInfo(system=True, context="oauth2")
            )
        except ApiError as error:
            raise BadRequestError(MSG_AUTH_FAILED, error.data) from error

    async def _unlink_all(self, conn: Connection, links: Collection, record: Record) -> None:
        found = await self.records.find_by_filter(
            links,
            "collectionRef = {:c} && recordRef = {:r}",
            {"c": record.collection.id, "r": record.id},
            conn=conn,
        )
        for link in found:
            await self.records.delete_record(conn, link)

    async def _find_link(
        self, links: Collection, collection: Collection, provider: str, provider_id: str
    ) -> Record | None:
        return await self.records.find_first_by_filter(
            links,
            "collectionRef = {:c} && provider = {:p} && providerId = {:i}",
            {"c": collection.id, "p": provider, "i": provider_id},
        )

    async def _find_by_email(self, collection: Collection, email: str) -> Record | None:
        """Emails match whatever their case, as PocketBase's ``FindAuthRecordByEmail``."""
        return await self.records.find_first_by_filter(
            collection, "email:lower = {:e}", {"e": email.lower()}
        )

    async def _create(
        self,
        collection: Collection,
        create_data: dict[str, Any],
        user: AuthUser,
        info: RequestInfo,
        avatar: DownloadedFile | None,
    ) -> Record:
        assert collection.auth is not None
        if collection.name == SUPERUSERS:
            raise BadRequestError(MSG_AUTH_FAILED)
        payload = dict(create_data)
        if not isinstance(payload.get("email"), str) or not payload["email"]:
            # As PocketBase: an email the client sends is kept (unverified unless it is
            # the provider's), so providers without one can still sign users up.
            payload["email"] = user.email
        password = payload.get("password")
        if not isinstance(password, str) or not password:
            payload["password"] = payload["passwordConfirm"] = random_string(30, ALPHANUMERIC)
        mapped = collection.auth.oauth2.mappedFields
        if mapped.id and mapped.id not in payload:
            payload[mapped.id] = user.id
        if mapped.name and mapped.name not in payload:
            payload[mapped.name] = user.name
        if (
            mapped.username
            and mapped.username not in payload
            and await self._can_assign_username(collection, mapped.username, user.username)
        ):
            payload[mapped.username] = user.username
        if mapped.avatarURL and mapped.avatarURL not in payload and user.avatar_url:
            if isinstance(collection.field(mapped.avatarURL), FileField):
                if avatar is not None:
                    payload[mapped.avatarURL] = avatar
            else:
                payload[mapped.avatarURL] = user.avatar_url
        as_client = RequestInfo(info.auth, "POST", info.query, info.headers, {}, "oauth2")
        record = await self.records.create_record(collection, payload, as_client)
        if str(record.get("email", "")) == user.email and not record.get("verified"):
            # Verified as long as it matches the provider's (even when both are empty).
            record = await self.records.update_record(
                collection,
                record.id,
                {"verified": True},
                RequestInfo(system=True, context="oauth2"),
            )
        return record

    async def _settle_existing(self, record: Record, user: AuthUser, info: RequestInfo) -> Record:
        collection = record.collection
        email = str(record.get("email", ""))
        verified = bool(record.get("verified"))
        changes: dict[str, Any] = {}
        signed_in = (
            info.auth is not None
            and info.auth.id == record.id
            and info.auth.collection.id == collection.id
        )
        if not signed_in and not verified:
            password = random_string(30, ALPHANUMERIC)
            changes.update(password=password, passwordConfirm=password)
        if not email and user.email:
            changes["email"] = user.email
        if not verified and (not email or email.lower() == user.email.lower()):
            changes["verified"] = True
        if not changes:
            return record
        return await self.records.update_record(
            collection, record.id, changes, RequestInfo(system=True, context="oauth2")
        )

    async def _can_assign_username(self, collection: Collection, name: str, value: str) -> bool:
        """As PocketBase: only a valid value of a text field, and only when not taken."""
        target = collection.field(name)
        if not isinstance(target, TextField) or not value:
            return False
        try:
            target.validate_value(value)
        except FieldInvalid:
            return False
        unique = any(
            index and index.unique and len(index.columns) == 1
            and column_name(index.columns[0]) == name
            for index in map(parse_index, collection.indexes)
        )  # fmt: skip
        return not unique or await self.records.find_first(collection, name, value) is None

    async def _avatar_file(
        self, collection: Collection, user: AuthUser, homes: frozenset[str]
    ) -> DownloadedFile | None:
        """The avatar, when the collection maps it to a file field it will fill."""
        assert collection.auth is not None
        target = collection.field(collection.auth.oauth2.mappedFields.avatarURL)
        if not isinstance(target, FileField) or not user.avatar_url:
            return None
        return await self._download(user.avatar_url, target.maxSize or DEFAULT_MAX_SIZE, homes)

    async def _download(self, url: str, limit: int, homes: frozenset[str]) -> DownloadedFile | None:
        """The provider's avatar; a failure only leaves the field empty.

        The address comes from the provider's answer about the user, which some
        providers let the user choose: fetched blindly, it would make the server
        read its own networks (cloud metadata, internal services) and hand the
        answer back as a file. So it is fetched from the origin of one of the
        provider's own URLs, which the superuser configured (a self-hosted
        provider serves its avatars there), or else only from public addresses,
        connecting to the address that was checked.
        """
        import httpx

        from keelbase.services.webhooks import ssrf

        if ssrf.url_problem(url) is not None:
            return None
        headers: dict[str, str] = {}
        extensions: dict[str, Any] = {}
        if _origins(url) - homes:
            try:
                checked = await ssrf.resolve(url, allow_private=False)
            except ssrf.Refused as refused:
                log.warning("OAuth2 avatar not downloaded: %s", refused)
                return None
            url, headers["host"] = checked.url, checked.host_header
            if checked.sni_hostname:
                extensions["sni_hostname"] = checked.sni_hostname
        try:
            async with self.http().stream(
                "GET", url, timeout=AVATAR_TIMEOUT, headers=headers, extensions=extensions
            ) as answer:
                if answer.status_code >= 400:
                    return None
                content = bytearray()
                async for chunk in answer.aiter_bytes():
                    content.extend(chunk)
                    if len(content) > limit:
                        return None
        except (httpx.HTTPError, ValueError) as error:
            log.warning("failed to download the OAuth2 avatar: %s", type(error).__name__)
            return None
        filename = PurePosixPath(urlparse(url).path).name or "avatar"
        return DownloadedFile(filename, io.BytesIO(bytes(content)), len(content))


def _origins(*urls: str) -> frozenset[str]:
    """``scheme://host:port`` of each URL that has one (the port spelled out)."""
    found = set()
    for url in urls:
        try:
            parts = urlparse(url)
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        except ValueError:
            continue
        if parts.hostname and port:
            found.add(f"{parts.scheme}://{parts.hostname.lower()}:{port}")
    return frozenset(found)


def _enabled(collection: Collection) -> bool:
    options = collection.auth
    return bool(options and options.oauth2.enabled and collection.name != SUPERUSERS)
