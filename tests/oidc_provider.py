"""A real OpenID Connect provider on loopback, for OAuth2 sign-in tests.

It implements what a sign-in needs and checks what a real provider checks:
``/authorize`` approves at once and redirects back with a code; ``/token``
checks the client secret (HTTP basic or form), the redirect URI, the PKCE
S256 verifier and that a code is used once, and answers with an access token
and an RS256 ``id_token``; ``/userinfo`` answers for a valid access token;
``/jwks`` publishes the signing key. Tests choose who signs in next with
``provider.next_user``.

For the non-OIDC providers it also plays their APIs by shape: any path under
``/api/`` answers the token's user (GET, or POST for GraphQL), a path ending in
``emails`` answers ``provider.emails`` (GitHub's, Gitea's, Bitbucket's, Gitee's
list), ``provider.token_extra`` joins the token answer (VK's email), and each
request to ``/api/`` is kept in ``provider.api_requests`` for its headers and body.
A provider that did not ask for PKCE refuses a ``code_verifier``, as VK and
Linear do.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.conftest import free_port

CLIENT_ID = "keelbase-test-client"
CLIENT_SECRET = "keelbase-test-secret-1234567890"


@dataclass
class Grant:
    user: dict[str, Any]
    redirect_uri: str
    challenge: str
    method: str


@dataclass
class ApiRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class OIDCProvider:
    url: str = ""
    key: Any = None
    next_user: dict[str, Any] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    emails: Any = field(default_factory=list)  # GitHub's /user/emails and the like
    emails_status: int = 200
    token_extra: dict[str, Any] = field(default_factory=dict)
    api_requests: list[ApiRequest] = field(default_factory=list)
    avatar: bytes = b""

    def provider_config(self, name: str = "oidc", **overrides: Any) -> dict[str, Any]:
        """The collection's provider entry for this server."""
        config = {
            "name": name,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "authURL": f"{self.url}/authorize",
            "tokenURL": f"{self.url}/token",
            "userInfoURL": f"{self.url}/userinfo",
            "displayName": "Test OIDC",
        }
        config.update(overrides)
        return config

    def id_token(self, user: dict[str, Any]) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "aud": CLIENT_ID, "iat": now, "exp": now + 600, **user}
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _error(code: str, status: int = 400) -> Response:
    return JSONResponse({"error": code}, status)


def build_app(provider: OIDCProvider) -> Starlette:
    async def authorize(request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return _error("invalid_request")
        code = secrets.token_urlsafe(16)
        provider.grants[code] = Grant(
            dict(provider.next_user),
            query.get("redirect_uri", ""),
            query.get("code_challenge", ""),
            query.get("code_challenge_method", ""),
        )
        target = query.get("redirect_uri", "")
        params = {"code": code, "state": query.get("state", "")}
        return RedirectResponse(f"{target}?{urlencode(params)}", 302)

    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        provider.token_requests.append(form)
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            decoded = base64.b64decode(basic[6:]).decode()
            client_id, _, client_secret = (unquote_plus(part) for part in decoded.partition(":"))
        if client_id != CLIENT_ID or not secrets.compare_digest(client_secret, CLIENT_SECRET):
            return _error("invalid_client", 401)
        grant = provider.grants.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return _error("invalid_grant")
        if grant.redirect_uri != form.get("redirect_uri", ""):
            return _error("invalid_grant")
        if grant.challenge and (
            grant.method != "S256" or _challenge(form.get("code_verifier", "")) != grant.challenge
        ):
            return _error("invalid_grant")
        if not grant.challenge and "code_verifier" in form:
            return _error("invalid_request")  # PKCE was not asked for
        access = secrets.token_urlsafe(24)
        provider.tokens[access] = grant.user
        return JSONResponse({
            "access_token": access, "token_type": "Bearer", "expires_in": 3600,
            "refresh_token": "refresh-" + access, "id_token": provider.id_token(grant.user),
            **provider.token_extra,
        })  # fmt: skip

    async def userinfo(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        user = provider.tokens.get(auth[7:]) if auth.lower().startswith("bearer ") else None
        if user is None:
            return _error("invalid_token", 401)
        return JSONResponse(user)

    async def api(request: Request) -> Response:
        """A provider's user API, by shape: the token's user, or the emails list."""
        provider.api_requests.append(
            ApiRequest(
                request.method, request.url.path, dict(request.headers), await request.body()
            )
        )
        auth = request.headers.get("authorization", "")
        user = provider.tokens.get(auth[7:]) if auth.lower().startswith("bearer ") else None
        if user is None:
            return _error("invalid_token", 401)
        if request.url.path.endswith("emails"):
            return JSONResponse(provider.emails, provider.emails_status)
        return JSONResponse(user)

    async def avatar(request: Request) -> Response:
        return Response(provider.avatar, 200, media_type="image/png")

    async def garbage(request: Request) -> Response:
        return Response("<html>not JSON</html>", 200, media_type="text/html")

    async def jwks(request: Request) -> Response:
        return JSONResponse({"keys": [provider.key.as_dict(private=False)]})

    return Starlette(
        routes=[
            Route("/authorize", authorize),
            Route("/token", token, methods=["POST"]),
            Route("/userinfo", userinfo),
            Route("/jwks", jwks),
            Route("/api/{path:path}", api, methods=["GET", "POST"]),
            Route("/avatar.png", avatar),
            Route("/garbage", garbage, methods=["GET", "POST"]),
        ]
    )


@contextmanager
def running_provider() -> Iterator[OIDCProvider]:
    """Serve a provider on a free loopback port in a thread, for the block's duration."""
    port = free_port()
    provider = OIDCProvider(url=f"http://127.0.0.1:{port}")
    provider.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    config = uvicorn.Config(build_app(provider), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test OpenID Connect provider did not start")
        time.sleep(0.02)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(10)
