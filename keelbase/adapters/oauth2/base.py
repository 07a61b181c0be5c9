"""The OAuth2 provider interface: build the consent URL, exchange a code, read the user.

A ``Provider`` works from a ``ProviderSpec`` (``keelbase.core.auth.oauth2_providers``:
endpoints, scopes, how to ask for and map the user); the few providers that
need more requests subclass it.
Everything that can go wrong talking to a provider (down, slow, refusing,
answering nonsense) is a ``ProviderError``; callers turn it into a 400, and
its message (which may quote the provider) goes to the debug log only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode

import httpx
import orjson

from keelbase.core.auth.oauth2_providers import ProviderSpec, UserRefused
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


class Provider:
    """A provider built from its spec; the collection's config overrides URLs, PKCE and title.

    Providers whose user needs more than one request (an emails endpoint, an
    ``id_token``) subclass this and override ``fetch_raw_user`` or ``user_from``.
    """

    def __init__(
        self, spec: ProviderSpec, config: OAuth2Provider, http: httpx.AsyncClient | None
    ) -> None:
        self.spec = spec
        self.config = config
        self.http = http
        self.auth_url = config.authURL or spec.auth_url
        self.token_url = config.tokenURL or spec.token_url
        self.user_info_url = config.userInfoURL or spec.user_info_url
        self.scopes: tuple[str, ...] = spec.scopes
        self.pkce = spec.pkce if config.pkce is None else config.pkce
        self.title = config.displayName or spec.display_name or config.name
        self.logo = spec.logo

    # The consent page ------------------------------------------------------

    def build_auth_url(self, state: str, code_challenge: str = "") -> str:
        """The consent URL, its query sorted as PocketBase's (Go's) is, ``redirect_uri`` last."""
        params = {
            "client_id": self.config.clientId,
            "response_type": "code",
            "state": state,
            **dict(self.spec.auth_params),
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
        """As Go's oauth2 package (PocketBase's) does: the client secret by HTTP basic auth,
        and in the form when the provider refuses that."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_url}
        if self.pkce:
            form["code_verifier"] = code_verifier
        # RFC 6749 2.3.1: both form-encoded inside the basic credentials, as Go does
        basic = httpx.BasicAuth(
            quote_plus(self.config.clientId), quote_plus(self.config.clientSecret)
        )
        try:
            return await self._token_request(form, basic)
        except ProviderError:
            pass
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
        for name in self.spec.token_fields:
            if name not in raw and token.raw.get(name) is not None:
                raw[name] = token.raw[name]
        try:
            user = await self.user_from(raw, token)
        except UserRefused as error:
            raise ProviderError(str(error)) from error
        if not user.id:
            raise ProviderError("the provider's user has no id")
        user.raw = raw
        user.access_token = token.access_token
        user.refresh_token = token.refresh_token
        user.expiry = token.expiry
        return user

    async def fetch_raw_user(self, token: Token) -> dict[str, Any]:
        """The user endpoint's answer: a GET, or the spec's JSON body POSTed (GraphQL)."""
        headers = dict(self.spec.user_info_headers)
        for name in self.spec.client_id_headers:
            headers[name] = self.config.clientId
        if not self.spec.user_info_body:
            return user_object(await self.get_json(self.user_info_url, token, headers))
        headers["Content-Type"] = "application/json"
        answer = await self.authorized(
            "POST", self.user_info_url, token, headers, content=self.spec.user_info_body
        )
        if answer.status_code >= 400:
            raise ProviderError(f"{self.user_info_url} answered {answer.status_code}")
        return user_object(json_of(answer))

    async def user_from(self, raw: dict[str, Any], token: Token) -> AuthUser:
        """The spec's mapping of the user answer (and of the token answer, for VK's email)."""
        mapped = self.spec.map_user(raw, token.raw)
        return AuthUser(
            id=mapped.id,
            name=mapped.name,
            username=mapped.username,
            email=mapped.email,
            avatar_url=mapped.avatar_url,
        )

    async def get_json(self, url: str, token: Token, headers: dict[str, str] | None = None) -> Any:
        """GET a provider API with the access token; any failure is a ``ProviderError``."""
        answer = await self.authorized("GET", url, token, headers or {})
        if answer.status_code >= 400:
            raise ProviderError(f"{url} answered {answer.status_code}")
        return json_of(answer)

    async def authorized(
        self, method: str, url: str, token: Token, headers: dict[str, str], **kwargs: Any
    ) -> httpx.Response:
        """A request with the access token, whatever its answer's status."""
        if not url:
            raise ProviderError("no user info URL")
        headers = {**headers, "Authorization": f"Bearer {token.access_token}"}
        return await self._send(method, url, headers=headers, **kwargs)

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


def json_of(answer: httpx.Response) -> Any:
    """The answer's JSON; anything else is a ``ProviderError``."""
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError as error:
        raise ProviderError(f"{answer.url} answered invalid JSON") from error


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
