"""``keelbase serve --https``: serving over TLS with a certificate and key from files.

Domain arguments (``serve example.com``) get their certificates automatically
instead: ``autocert.py``. With ``--https`` and ``--http`` both given, the plain
listener only sends browsers to the HTTPS address, as PocketBase's does: GET and
HEAD answer ``302`` to the same path on HTTPS, anything else ``400`` "Use HTTPS".
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any


def address_problem(flag: str, value: str) -> str | None:
    """Why ``value`` is not a ``HOST:PORT`` listen address (``None`` when it is)."""
    _, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        example = "0.0.0.0:443" if flag == "--https" else "127.0.0.1:8090"
        return f"{flag} must be HOST:PORT (e.g. {example}), not {value!r}"
    return None


def certificate_problem(https: str, cert: str, key: str) -> str | None:
    """Why the TLS options cannot serve (``None`` when they can): both files, readable, a pair.

    The files are loaded here, before anything listens, so a wrong path or a key
    that does not belong to the certificate stops the start with one line
    instead of failing inside the server.
    """
    if not https:
        if cert or key:
            return "--httpsCert and --httpsKey need --https HOST:PORT (where to serve HTTPS)"
        return None
    if problem := address_problem("--https", https):
        return problem
    if not cert or not key:
        return (
            "--https needs --httpsCert FILE and --httpsKey FILE (a PEM certificate and its "
            "private key), or domain arguments for automatic certificates "
            "(keelbase serve example.com)"
        )
    for flag, path in (("--httpsCert", cert), ("--httpsKey", key)):
        if not Path(path).is_file():
            return f"{flag} {path!r} is not a readable file"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as error:
        return (
            f"cannot use {cert!r} with {key!r}: {error.reason or error} "
            "(both must be PEM, and the key must be the certificate's, unencrypted)"
        )
    except OSError as error:
        return f"cannot read the certificate or key: {error}"
    return None


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

CHALLENGE_PREFIX = "/.well-known/acme-challenge/"


def redirect_app(https: str) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The plain-HTTP listener beside ``--https``: browsers go to the HTTPS address."""
    port = https.rpartition(":")[2]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"host", b"").decode("latin-1")
        host = raw[: raw.find("]") + 1] if raw.startswith("[") else raw.split(":", 1)[0]
        if not host:
            host = scope["server"][0] if scope.get("server") else "localhost"
        target_host = host if port == "443" else f"{host}:{port}"
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        target = f"https://{target_host}{path.decode('latin-1')}"
        if query:
            target += "?" + query.decode("latin-1")
        if scope["method"] in ("GET", "HEAD"):
            status, body = 302, b""
            extra = [(b"location", target.encode("latin-1"))]
        else:
            status, body, extra = 400, b"Use HTTPS\n", []
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def challenge_app(challenges: Mapping[str, str], fallback: App) -> App:
    """The plain listener of ``serve DOMAIN...``: ACME http-01 answers (token -> key
    authorization, filled by ``autocert.py`` while an order is open), the rest to ``fallback``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(CHALLENGE_PREFIX):
            await fallback(scope, receive, send)
            return
        answer = challenges.get(path[len(CHALLENGE_PREFIX) :])
        status, body = (200, answer.encode()) if answer else (404, b"Not found\n")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app
