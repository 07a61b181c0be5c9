"""A client's body applied to a record: plain keys, ``field+``, ``+field`` and ``field-``.

Keys are applied shortest first (so ``tags`` is set before ``tags+`` adds to
it), as PocketBase does. Unknown keys are kept only for ``@request.body``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keelbase.core.collections.collection import Collection
from keelbase.core.fields import AutodateField, FileField, PasswordField
from keelbase.services.files.service import FileChanges, PendingFile, stored_name


@dataclass
class ResolvedInput:
    data: dict[str, Any]  # every field's value after the body is applied
    submitted: dict[str, Any]  # what ``@request.body`` shows: submitted keys, resolved
    passwords: dict[str, str] = field(default_factory=dict)  # plain password inputs (auth)
    changed: set[str] = field(default_factory=set)
    files: FileChanges = field(default_factory=FileChanges)


def _is_upload(value: Any) -> bool:
    return hasattr(value, "filename") and hasattr(value, "file")


def _file_value(
    target: FileField, current: Any, modifier: str | None, raw: Any, pending: list[PendingFile]
) -> Any:
    """Names and uploads applied to a file field; accepted uploads go to ``pending``."""
    items = raw if isinstance(raw, list) else [raw]
    names = [item for item in items if isinstance(item, str)]
    uploads = [
        PendingFile(target.name, stored_name(item.filename or ""), item.filename or "", item)
        for item in items
        if _is_upload(item)
    ]
    if modifier == "-":
        value = target.modify(current, "-", names)
    elif modifier is None:
        value = target.prepare(names + [u.name for u in uploads])
    else:
        value = target.modify(current, modifier, names + [u.name for u in uploads])
    kept = set(target.as_list(value))
    pending.extend(u for u in uploads if u.name in kept)
    return value


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
    pending: list[PendingFile] = []
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
        if isinstance(target, FileField):
            value = _file_value(target, data.get(name), modifier, raw, pending)
        elif _is_upload(raw) or (isinstance(raw, list) and any(_is_upload(v) for v in raw)):
            continue  # an upload for a field that is not a file field is ignored
        elif modifier is None:
            value = target.prepare(raw)
        else:
            value = target.modify(data.get(name), modifier, raw)
        data[name] = value
        submitted[name] = value
        changed.add(name)
    return ResolvedInput(data, submitted, passwords, changed, FileChanges(new=pending))
