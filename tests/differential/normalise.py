"""Turn two servers' answers into comparable values, and say how they differ.

The two servers make different random choices (record ids, timestamps, token
signatures, uploaded file name suffixes), so those values are replaced by
placeholders before comparing. Everything else must match exactly: key sets
recursively, list lengths and order, scalar values.

Placeholders keep as much information as possible, so normalising cannot hide
a real difference:

* a value captured by an earlier step (``save``) becomes ``<$name>``, so a
  relation that points at the wrong record is still caught;
* other record ids become ``<id:N>``, numbered by first appearance within the
  one answer, so "the expanded record is the one the relation names" is still
  checked;
* only *recent* timestamps become ``<now>``; dates the scenario sends in (all
  far from today) are compared as values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

JWT = re.compile(r"^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$")
COLLECTION_ID = re.compile(r"pbc_\d+")
RECORD_ID = re.compile(r"(?<![A-Za-z0-9])[a-z0-9]{15}(?![A-Za-z0-9])")
# Uploaded files are stored as ``<sanitised base>_<10 random [a-z0-9]>.<ext>``.
FILE_SUFFIX = re.compile(r"_[a-z0-9]{10}(\.[A-Za-z0-9]+)(?![A-Za-z0-9])")
# Field ids are ``type + crc32(name)`` in PocketBase, ``_clone_xxxx`` for view
# fields copied from a source collection; neither is part of the contract.
FIELD_MARKER_KEYS = frozenset({"id", "name", "type"})
# Index names PocketBase makes up for an auth collection without an id (scaffolds).
RANDOM_INDEX_NAME = re.compile(r"(`idx_[A-Za-z]+_)[a-z0-9]{10}`")
# Auth collections carry random per-collection token secrets (``authToken.secret`` …).
SECRET = re.compile(r"^[A-Za-z0-9]{30,}$")

# The one intentional difference the brief allows: for a bad list query parameter
# PocketBase answers 400 with ``data: {}`` and Keelbase explains which parameter
# was wrong, keyed by the parameter's name.
MSG_SOMETHING_WRONG = "Something went wrong while processing your request."
LIST_PARAMETERS = frozenset({"filter", "sort", "page", "perPage", "skipTotal", "fields", "expand"})

RECENT = timedelta(days=2)

# Allow-listed known differences, kept as short as possible. Each entry is the
# stable prefix of an error message whose tail is free text copied from one of
# PocketBase's Go dependencies; Keelbase has its own filter parser and SQLite
# driver, and wording them byte for byte is not a goal (the brief asks errors
# to match in status, message and ``data`` keys/codes). Only the tail is cut;
# the code and the prefix are still compared.
DIAGNOSTIC_TAILS = (
    # fexpr / resolver wording, e.g. 'invalid sign operator "===="'.
    re.compile(r"^(Invalid rule\. Raw error: ).+$", re.DOTALL),
    # SQLite driver wording, e.g. "SQL logic error: no such column: nope (1)".
    re.compile(r"^(Failed to create index \S+ - ).+$", re.DOTALL),
    # Same for a view query SQLite rejects; PocketBase's own explanations (no id
    # column, rows with empty ids) are still compared.
    re.compile(
        r"^(Invalid query - )(?!missing required id column|the query could return).+$",
        re.DOTALL,
    ),
)


@dataclass
class Answer:
    """One server's answer to one step, as far as the comparison cares."""

    status: int
    media_type: str
    body: Any  # parsed JSON, or the raw text when the body is not JSON


@dataclass
class Normaliser:
    """Replaces one server's random values by placeholders (see the module doc)."""

    known: dict[str, str]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _ids: dict[str, str] = field(default_factory=dict)

    def __call__(self, value: Any) -> Any:
        self._ids = {}
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, dict):
            is_field = value.keys() >= FIELD_MARKER_KEYS and "fields" not in value
            out: dict[str, Any] = {}
            for key in sorted(value):
                item = value[key]
                if is_field and key == "id" and isinstance(item, str) and item not in self.known:
                    out[key] = "<fieldid>"
                elif key == "secret" and isinstance(item, str) and SECRET.match(item):
                    out[key] = "<secret>"
                else:
                    out[key] = self._walk(item)
            return out
        if isinstance(value, list):
            return [self._walk(item) for item in value]
        if isinstance(value, str):
            return self._string(value)
        return value

    def _string(self, text: str) -> str:
        if text in self.known:
            return f"<${self.known[text]}>"
        if JWT.match(text):
            return "<jwt>"
        if DATE.match(text) and self._is_recent(text):
            return "<now>"
        for raw in sorted(self.known, key=len, reverse=True):
            if len(raw) >= 8 and raw in text:
                text = text.replace(raw, f"<${self.known[raw]}>")
        text = COLLECTION_ID.sub("<pbc>", text)
        text = RECORD_ID.sub(self._record_id, text)
        text = FILE_SUFFIX.sub(r"_<rand>\1", text)
        text = RANDOM_INDEX_NAME.sub(r"\1<rand>`", text)
        for tail in DIAGNOSTIC_TAILS:
            text = tail.sub(r"\1<diagnostic>", text)
        return text

    def _record_id(self, match: re.Match[str]) -> str:
        raw = match.group(0)
        if raw not in self._ids:
            self._ids[raw] = f"<id:{len(self._ids) + 1}>"
        return self._ids[raw]

    def _is_recent(self, text: str) -> bool:
        stamp = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%fZ").replace(tzinfo=UTC)
        return abs(stamp - self.now) < RECENT


MISSING = object()


def _show(value: Any) -> str:
    if value is MISSING:
        return "<missing>"
    return json.dumps(value, ensure_ascii=False)[:300]


def diff_values(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Every place where ``actual`` (Keelbase) differs from ``expected`` (PocketBase)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        problems: list[str] = []
        for key in sorted(expected.keys() | actual.keys()):
            left = expected.get(key, MISSING)
            right = actual.get(key, MISSING)
            if left is MISSING or right is MISSING:
                problems.append(f"{path}.{key}: pocketbase={_show(left)} keelbase={_show(right)}")
            else:
                problems.extend(diff_values(left, right, f"{path}.{key}"))
        return problems
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [_length_mismatch(expected, actual, path)]
        problems = []
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            problems.extend(diff_values(left, right, f"{path}[{index}]"))
        return problems
    if not _same_scalar(expected, actual):
        return [f"{path}: pocketbase={_show(expected)} keelbase={_show(actual)}"]
    return []


def _label(item: Any) -> str:
    if isinstance(item, dict):
        for key in ("name", "slug", "title", "id"):
            if isinstance(item.get(key), str):
                return f"{key}={item[key]}"
    return _show(item)[:80]


def _length_mismatch(expected: list[Any], actual: list[Any], path: str) -> str:
    """Name the items only one side has, which reads better than two long dumps."""
    left = [_label(item) for item in expected]
    right = [_label(item) for item in actual]
    only_pb = [label for label in left if label not in right]
    only_kb = [label for label in right if label not in left]
    return (
        f"{path}: pocketbase has {len(expected)} items, keelbase {len(actual)}; "
        f"only in pocketbase: {only_pb or '-'}; only in keelbase: {only_kb or '-'}"
    )


def _same_scalar(left: Any, right: Any) -> bool:
    # JSON has one number type (``7`` and ``7.0`` are the same value to every
    # client), but Python's ``True == 1`` must not make a bool equal a number.
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return float(left) == float(right)
    return type(left) is type(right) and left == right


def allowed_list_parameter_explanation(
    pocketbase: Answer, keelbase: Answer, sent: frozenset[str]
) -> bool:
    """The one intentional difference (see ``LIST_PARAMETERS``), and nothing wider.

    Each explained key must be a list parameter the request actually sent, so an
    explanation that blames the wrong parameter is still a difference.
    """
    pb, kb = pocketbase.body, keelbase.body
    if not (isinstance(pb, dict) and isinstance(kb, dict)):
        return False
    if pocketbase.status != 400 or keelbase.status != 400:
        return False
    if pb.get("message") != MSG_SOMETHING_WRONG or kb.get("message") != MSG_SOMETHING_WRONG:
        return False
    data = kb.get("data")
    if pb.get("data") != {} or not isinstance(data, dict) or not data:
        return False
    return all(
        key in LIST_PARAMETERS
        and key in sent
        and isinstance(value, dict)
        and set(value) == {"code", "message"}
        and all(isinstance(part, str) for part in value.values())
        for key, value in data.items()
    )


def compare(pocketbase: Answer, keelbase: Answer, sent: frozenset[str] = frozenset()) -> list[str]:
    """All differences between the two (already normalised) answers; empty when equal.

    ``sent`` names the query parameters of the request (for the allowed difference).
    """
    problems: list[str] = []
    if pocketbase.status != keelbase.status:
        problems.append(f"status: pocketbase={pocketbase.status} keelbase={keelbase.status}")
    if pocketbase.media_type != keelbase.media_type:
        problems.append(
            f"content-type: pocketbase={pocketbase.media_type!r} keelbase={keelbase.media_type!r}"
        )
    kb_body = keelbase.body
    if allowed_list_parameter_explanation(pocketbase, keelbase, sent):
        kb_body = {**kb_body, "data": {}}
    problems.extend(diff_values(pocketbase.body, kb_body))
    return problems
