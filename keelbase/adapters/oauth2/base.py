"""The OAuth2 provider interface: build the consent URL, exchange a code, read the user.

Each provider (one module each) is a ``Provider`` with its endpoints, scopes
and a ``user_from`` that maps the provider's user data to an ``AuthUser``.
Everything that can go wrong talking to a provider (down, slow, refusing,
answering nonsense) is a ``ProviderError``; callers turn it into a 400, and
its message (which may quote the provider) goes to the debug log only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

import httpx
import orjson

from keelbase.core.auth.options import OAuth2Provider

TIMEOUT = 30.0  # PocketBase gives a provider 30 seconds
MAX_ANSWER = 1 << 20  # a token or user answer larger than 1 MiB is not a real one


class ProviderError(Exception):
    """A provider failed or refused; never shown to clients."""


@dataclass
class Token:
    access_token: str
    refresh_token: str = ""
    expires_at: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def id_token(self) -> str:
        value = self.raw.get("id_token")
        return value if isinstance(value, str) else ""

    @property
    def expiry(self) -> str:
        """PocketBase's date format, or "" when the provider gave no lifetime."""
        if self.expires_at is None:
            return ""
        moment = datetime.fromtimestamp(self.expires_at, UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class AuthUser:
    """The provider's user, as ``meta`` shows it; ``email`` only when the provider verified it."""

    id: str
    name: str = ""
    username: str = ""
    email: str = ""
    avatar_url: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    access_token: str = ""
    refresh_token: str = ""
    expiry: str = ""

    def meta(self, is_new: bool) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "username": self.username,
            "email": self.email,
            "isNew": is_new,
            "avatarURL": self.avatar_url,
            "avatarUrl": self.avatar_url,  # PocketBase's pre-0.23 spelling, still sent
            "rawUser": self.raw,
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "expiry": self.expiry,
        }


def as_str(value: Any) -> str:
    """A claim as text: numbers (GitHub's ids) become strings, anything else ""."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float | str):
        return str(value)
    return ""


def as_bool(value: Any) -> bool:
    """``email_verified`` comes as a bool or as "true"/"false" (Apple, some OIDC servers)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return value is True or value == 1


class Provider:
    """Defaults for one provider; the collection's config overrides what it sets."""

    name: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    default_auth_url: ClassVar[str] = ""
    default_token_url: ClassVar[str] = ""
    default_user_info_url: ClassVar[str] = ""
    scopes: ClassVar[tuple[str, ...]] = ()
    default_pkce: ClassVar[bool] = True
    auth_params: ClassVar[dict[str, str]] = {}
    # "post" sends the client secret in the form; "auto" tries HTTP basic first, then the form.
    client_auth: ClassVar[str] = "post"

    def __init__(self, config: OAuth2Provider, http: httpx.AsyncClient | None) -> None:
        self.config = config
        self.http = http
        self.auth_url = config.authURL or self.default_auth_url
        self.token_url = config.tokenURL or self.default_token_url
        self.user_info_url = config.userInfoURL or self.default_user_info_url
        self.pkce = self.default_pkce if config.pkce is None else config.pkce
        self.title = config.displayName or self.display_name or config.name

    # The consent page ------------------------------------------------------

    def build_auth_url(self, state: str, code_challenge: str = "") -> str:
        """The consent URL, its query sorted as PocketBase's (Go's) is, ``redirect_uri`` last."""
        params = {
            "client_id": self.config.clientId,
            "response_type": "code",
            "state": state,
            **self.auth_params,
        }
        if self.scopes:
            params["scope"] = " ".join(self.scopes)
        if code_challenge:
            params["code_challenge"] = code_challenge
            params["code_challenge_method"] = "S256"
        separator = "&" if "?" in self.auth_url else "?"
        query = urlencode(sorted(params.items()))
        return f"{self.auth_url}{separator}{query}&redirect_uri="

    # The code exchange -----------------------------------------------------

    async def fetch_token(self, code: str, code_verifier: str, redirect_url: str) -> Token:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_url}
        if self.pkce:
            form["code_verifier"] = code_verifier
        if self.client_auth == "auto":
            basic = httpx.BasicAuth(self.config.clientId, self.config.clientSecret)
            try:
                return await self._token_request(form, basic)
            except ProviderError:
                pass  # as Go's oauth2 does: the provider may want the secret in the form
        posted = {**form, "client_id": self.config.clientId}
        posted["client_secret"] = self.config.clientSecret
        return await self._token_request(posted, None)

    async def _token_request(self, form: dict[str, str], auth: httpx.Auth | None) -> Token:
        if not self.token_url:
            raise ProviderError("no token URL")
        answer = await self._send("POST", self.token_url, data=form, auth=auth)
        data = _parse_token_answer(answer)
        if answer.status_code >= 400 or "error" in data:
            raise ProviderError(
                f"token endpoint answered {answer.status_code}: {data.get('error')}"
            )
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise ProviderError("the token answer has no access_token")
        expires_in = data.get("expires_in")
        expires_at = None
        if isinstance(expires_in, int | float | str) and str(expires_in).isdigit():
            expires_at = time.time() + int(expires_in)
        refresh = data.get("refresh_token")
        return Token(access, refresh if isinstance(refresh, str) else "", expires_at, data)

    # The user ------------------------------------------------------------------

    async def fetch_user(self, token: Token) -> AuthUser:
        raw = await self.fetch_raw_user(token)
        user = self.user_from(raw, token)
        if not user.id:
            raise ProviderError("the provider's user has no id")
        user.raw = raw
        user.access_token = token.access_token
        user.refresh_token = token.refresh_token
        user.expiry = token.expiry
        return user

    async def fetch_raw_user(self, token: Token) -> dict[str, Any]:
        return user_object(await self.get_json(self.user_info_url, token))

    def user_from(self, raw: dict[str, Any], token: Token) -> AuthUser:
        raise NotImplementedError

    async def get_json(self, url: str, token: Token) -> Any:
        """GET a provider API with the access token; any failure is a ``ProviderError``."""
        if not url:
            raise ProviderError("no user info URL")
        headers = {"Authorization": f"Bearer {token.access_token}"}
        answer = await self._send("GET", url, headers=headers)
        if answer.status_code >= 400:
            raise ProviderError(f"{url} answered {answer.status_code}")
        try:
            data = orjson.loads(answer.content)
        except orjson.JSONDecodeError as error:
            raise ProviderError(f"{url} answered invalid JSON") from error
        return data

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self.http is None:
            raise ProviderError("no HTTP client: this provider object only builds URLs")
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        try:
            answer = await self.http.request(
                method, url, headers=headers, timeout=TIMEOUT, **kwargs
            )
        except (httpx.HTTPError, ValueError) as error:  # down, slow, or a malformed URL
            raise ProviderError(f"{method} {url} failed: {type(error).__name__}") from error
        if len(answer.content) > MAX_ANSWER:
            raise ProviderError(f"{url} answered too much")
        return answer


def _parse_token_answer(answer: httpx.Response) -> dict[str, Any]:
    """JSON, or the form encoding some providers (GitHub's old default) still answer with."""
    content_type = answer.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type or "text/plain" in content_type:
        return dict(parse_qsl(answer.text))
    try:
        data = orjson.loads(answer.content)
    except orjson.JSONDecodeError as error:
        raise ProviderError(
            f"the token endpoint answered {answer.status_code}, not JSON"
        ) from error
    if not isinstance(data, dict):
        raise ProviderError("the token answer is not an object")
    return data


def user_object(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ProviderError("the user answer is not an object")
    return raw
