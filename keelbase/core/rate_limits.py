"""Rate limit rules as PocketBase reads them: which rule a request falls under.

Pure functions, no I/O: the labels of a request, the first rule that matches
them, the client's IP behind trusted proxies, and the validation of the
``rateLimits`` settings section. The counting lives in
``keelbase.services.rate_limits``.

A rule's label is one of:

- a tag ``collection:action`` or ``*:action`` (``users:auth``, ``*:create``);
- an exact ``METHOD /path`` or ``/path``;
- a path prefix ending in ``/`` (``/api/``), which matches every path under it;
- a plain word (a tag for user code).

Labels are tried in the order the request lists them (the collection's own
tags, then the ``*:`` tags, then ``METHOD /path``, then ``/path``), and for
each label the rules in their settings order; prefix rules are tried after
the exact ones of each label. The first rule whose audience fits wins.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

from keelbase.errors import field_error, required_error

AUDIENCE_ALL = ""
AUDIENCE_GUEST = "@guest"
AUDIENCE_AUTH = "@auth"
AUDIENCES = (AUDIENCE_ALL, AUDIENCE_GUEST, AUDIENCE_AUTH)
GUEST_AUDIENCES = (AUDIENCE_ALL, AUDIENCE_GUEST)
AUTH_AUDIENCES = (AUDIENCE_ALL, AUDIENCE_AUTH)

# PocketBase's label format, with Go's ASCII-only \w.
LABEL_FORMAT = re.compile(r"^(\w+ /[\w/-]*|/[\w/-]*|\w+:\w+|\*:\w+|\w+)$", re.ASCII)

# The collection routes and their action tags, most specific first (as PocketBase binds them).
_AUTH_ACTIONS: dict[str, tuple[str, ...]] = {
    "auth-methods": ("listAuthMethods",),
    "auth-refresh": ("authRefresh",),
    "auth-with-password": ("authWithPassword", "auth"),
    "auth-with-oauth2": ("authWithOAuth2", "auth"),
    "request-otp": ("requestOTP",),
    "auth-with-otp": ("authWithOTP", "auth"),
    "request-password-reset": ("requestPasswordReset",),
    "confirm-password-reset": ("confirmPasswordReset",),
    "request-verification": ("requestVerification",),
    "confirm-verification": ("confirmVerification",),
    "request-email-change": ("requestEmailChange",),
    "confirm-email-change": ("confirmEmailChange",),
}
_AUTH_METHOD = {"auth-methods": "GET"}
_RECORD_ACTIONS = {"GET": "view", "PATCH": "update", "DELETE": "delete"}
_COLLECTION_PATH = re.compile(r"^/api/collections/([^/]+)/([^/]+)(?:/([^/]+))?$")
_FILE_PATH = re.compile(r"^/api/files/([^/]+)/[^/]+/.+$")


class Rule(Protocol):
    label: str
    audience: str
    duration: int
    maxRequests: int


R = TypeVar("R", bound=Rule)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def collection_action(method: str, path: str) -> tuple[str, tuple[str, ...]] | None:
    """The collection (name or id, as in the path) and action tags of a collection route.

    ``None`` for every other route: those are limited by their path only.
    """
    if path.startswith("/api/files/"):
        match = _FILE_PATH.match(path)
        if match and method in ("GET", "HEAD"):
            return match.group(1), ("file",)
        return None
    match = _COLLECTION_PATH.match(path)
    if match is None:
        return None
    collection, action, record_id = match.groups()
    if action == "records":
        if record_id is None:
            tag = {"GET": "list", "POST": "create"}.get(method)
        else:
            tag = _RECORD_ACTIONS.get(method)
        return (collection, (tag,)) if tag else None
    tags = _AUTH_ACTIONS.get(action)
    if tags is None or record_id is not None:
        return None
    if method != _AUTH_METHOD.get(action, "POST"):
        return None
    return collection, tags


def default_labels(method: str, path: str) -> list[str]:
    return [f"{method} {path}", path]


def collection_labels(name: str, tags: Sequence[str], method: str, path: str) -> list[str]:
    """``name:tag`` for each tag, then ``*:tag`` for each, then the path labels."""
    return [
        *(f"{name}:{tag}" for tag in tags),
        *(f"*:{tag}" for tag in tags),
        *default_labels(method, path),
    ]


def find_rule(rules: Sequence[R], labels: Sequence[str], audiences: Sequence[str]) -> R | None:
    """The first rule for ``labels`` whose audience is one of ``audiences`` (PocketBase's order)."""
    prefixes = [rule for rule in rules if rule.label.endswith("/")]
    for label in labels:
        for rule in rules:
            if rule.label == label and rule.audience in audiences:
                return rule
        # prefix rules match a path label (and, as in PocketBase, any label they prefix)
        for rule in prefixes:
            if (label + "/").startswith(rule.label) and rule.audience in audiences:
                return rule
    return None


def client_ip(
    headers: Iterable[tuple[bytes, bytes]],
    remote: str,
    trusted_headers: Sequence[str],
    use_leftmost: bool,
) -> str:
    """The client's IP: from the first trusted proxy header holding one, else the peer's.

    Only the last occurrence of a header counts (the one the proxy set). Of its
    comma separated list the rightmost valid IP is taken (the one the proxy
    appended) unless ``use_leftmost`` is set.
    """
    if trusted_headers:
        values: dict[str, str] = {}
        wanted = {h.lower() for h in trusted_headers}
        for name, value in headers:
            key = name.decode("latin-1").lower()
            if key in wanted:
                values[key] = value.decode("latin-1")
        for header in trusted_headers:
            listed = values.get(header.lower(), "")
            if not listed:
                continue
            candidates = listed.split(",")
            for candidate in candidates if use_leftmost else reversed(candidates):
                try:
                    return _expanded(ipaddress.ip_address(candidate.strip()))
                except ValueError:
                    continue
    return remote


def limit_key(ip: str) -> str:
    """Whom a limit counts: an IPv4 address, or an IPv6 address's /64.

    One IPv6 client usually holds a whole /64 and could take a fresh address for
    every request; counted per /64 it gets one allowance, like an IPv4 client.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _expanded(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return ip.exploded if ip.version == 6 else str(ip)


def parse_networks(entries: Iterable[str]) -> list[Network]:
    """``excludedIPs`` as networks (a plain IP is a network of one); invalid entries skipped."""
    out: list[Network] = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue
    return out


def in_networks(ip: str, networks: Sequence[Network]) -> bool:
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


# Validation ---------------------------------------------------------------


def is_ip_or_subnet(entry: str) -> bool:
    """An IP address, or a CIDR subnet (host bits may be set, as Go's ``ParsePrefix`` allows)."""
    try:
        if "/" in entry:
            ipaddress.ip_network(entry, strict=False)
        else:
            ipaddress.ip_address(entry)
    except ValueError:
        return False
    return True


def _min_one(value: int) -> dict[str, Any] | None:
    if value == 0:
        return required_error()
    if value < 1:
        return field_error(
            "validation_min_greater_equal_than_required",
            "Must be no less than 1.",
            {"threshold": 1},
        )
    return None


def _rule_errors(rule: Rule) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if not rule.label:
        errors["label"] = required_error()
    elif not LABEL_FORMAT.match(rule.label):
        errors["label"] = field_error("validation_match_invalid", "Must be in a valid format.")
    for name in ("maxRequests", "duration"):
        problem = _min_one(getattr(rule, name))
        if problem:
            errors[name] = problem
    if rule.audience not in AUDIENCES:
        errors["audience"] = field_error("validation_in_invalid", "Must be a valid value.")
    return errors


def _conflict(rules: Sequence[Rule]) -> dict[str, Any]:
    """PocketBase refuses a rule whose ``label@@audience`` prefixes another's, or the reverse."""
    seen: list[str] = []
    for index, rule in enumerate(rules):
        key = f"{rule.label}@@{rule.audience}"
        if any(other.startswith(key) or key.startswith(other) for other in seen):
            return {
                str(index): {
                    "label": field_error(
                        "validation_conflicting_rate_limit_rule",
                        f"Rate limit rule configuration with label {rule.label} already "
                        "exists or conflicts with another rule.",
                        {"label": rule.label},
                    )
                }
            }
        seen.append(key)
    return {}


def settings_errors(
    enabled: bool, rules: Sequence[Rule], excluded_ips: Sequence[str]
) -> dict[str, Any]:
    """The ``rateLimits`` errors PocketBase reports, in its shape; empty when valid.

    Each rule's own errors come first; the conflict check runs only when every
    rule is valid on its own, and reports the first conflict.
    """
    errors: dict[str, Any] = {}
    if enabled and not rules:
        errors["rules"] = required_error()
    else:
        per_rule = {str(i): e for i, rule in enumerate(rules) if (e := _rule_errors(rule))}
        conflict = per_rule or _conflict(rules)
        if conflict:
            errors["rules"] = conflict
    bad_ips: dict[str, Any] = {}
    for index, entry in enumerate(excluded_ips):
        if not is_ip_or_subnet(entry):
            # PocketBase's code, typo included, so clients matching on it keep working
            bad_ips[str(index)] = field_error(
                "validation_invlaid_ip_or_subnet", "Invalid IP or CIDR subnet."
            )
    if bad_ips:
        errors["excludedIPs"] = bad_ips
    return errors
