"""A client's body applied to a record: plain keys, ``field+``, ``+field`` and ``field-``.

Keys are applied shortest first (so ``tags`` is set before ``tags+`` adds to
it), as PocketBase does. Unknown keys are kept only for ``@request.body``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keelbase.core.collection import Collection
from keelbase.core.fields import AutodateField, PasswordField


@dataclass
class ResolvedInput:
    data: dict[str, Any]  # every field's value after the body is applied
    submitted: dict[str, Any]  # what ``@request.body`` shows: submitted keys, resolved
    passwords: dict[str, str] = field(default_factory=dict)  # plain password inputs (auth)
    changed: set[str] = field(default_factory=set)


def _plain(raw: Any) -> str:
    return raw if isinstance(raw, str) else ("" if raw is None else str(raw))


def _split_key(key: str) -> tuple[str, str | None]:
    if key.endswith("+"):
        return key[:-1], "+"
    if key.startswith("+"):
        return key[1:], "prefix+"
    if key.endswith("-"):
        return key[:-1], "-"
    return key, None


def apply_body(
    collection: Collection, current: dict[str, Any], body: dict[str, Any], superuser: bool
) -> ResolvedInput:
    data = dict(current)
    submitted: dict[str, Any] = {}
    passwords: dict[str, str] = {}
    changed: set[str] = set()
    for key in sorted(body, key=len):
        raw = body[key]
        name, modifier = _split_key(key)
        target = collection.field(name) if name else None
        if collection.is_auth and key in ("passwordConfirm", "oldPassword"):
            passwords[key] = _plain(raw)
            submitted[key] = passwords[key]
            continue
        if target is None:
            if collection.field(key) is None:
                submitted[key] = raw
            continue
        if target.hidden and not superuser and not (collection.is_auth and name == "password"):
            continue
        if isinstance(target, AutodateField):
            continue
        if isinstance(target, PasswordField):
            passwords[name] = _plain(raw)
            submitted[name] = passwords[name]
            changed.add(name)
            continue
        value = (
            target.prepare(raw)
            if modifier is None
            else target.modify(data.get(name), modifier, raw)
        )
        data[name] = value
        submitted[name] = value
        changed.add(name)
    return ResolvedInput(data, submitted, passwords, changed)
