"""Keeping webhook URLs off the server's own networks.

A webhook URL is chosen by a superuser and the server POSTs to it, so it must
not reach loopback, private, link-local (cloud metadata at 169.254.169.254),
shared or reserved addresses. The check runs when a webhook is saved and again
at each send; the send then connects to the address that was checked (the
name is not resolved a second time), so a DNS answer that changes in between
(rebinding) cannot slip a private address in. ``KEELBASE_WEBHOOKS_ALLOW_PRIVATE=true``
allows them (tests, receivers inside the app's own network).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

MAX_URL = 2048
RESOLVE_TIMEOUT = 3.0  # seconds: a slow DNS answer is a refusal, not a stalled request


class Refused(Exception):
    """The URL's host is not one the server may send to."""


@dataclass(frozen=True)
class Target:
    """Where one send goes: the URL with the checked address in place of the name."""

    url: str
    host_header: str
    sni_hostname: str | None


def url_problem(url: object) -> str | None:
    """Why ``url`` cannot be a webhook URL, or None when its form is fine."""
    if not isinstance(url, str) or not url:
        return "Cannot be blank."
    if len(url) > MAX_URL or not url.isascii() or not url.isprintable() or " " in url:
        return "Must be an http or https URL."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "Must be an http or https URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Must be an http or https URL."
    if parts.username or parts.password:
        return "Must not hold a user name or password."
    return None


def _allowed(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return allow_private or ip.is_global


async def resolve(url: str, allow_private: bool) -> Target:
    """Resolve the URL's host and pick an allowed address; ``Refused`` when any is not."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM),
            RESOLVE_TIMEOUT,
        )
    except (OSError, UnicodeError, TimeoutError) as error:
        raise Refused(f"cannot resolve {host}") from error
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise Refused(f"cannot resolve {host}")
    if not all(_allowed(a, allow_private) for a in addresses):
        raise Refused(f"{host} resolves to a private or reserved address")
    address = addresses[0].split("%", 1)[0]
    shown = f"[{address}]" if ":" in address else address
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    host_header = parts.netloc.rsplit("@", 1)[-1]
    is_name = not _is_ip(host)
    return Target(
        urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        host_header,
        host if parts.scheme == "https" and is_name else None,
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
