"""Push rules: superusers' declarative "on these record events, push to these users".

A rule names a collection, the events (``create``, ``update``, ``delete``), who
gets the push — the auth records its relation fields point to (``author``,
``members``) and/or the records of an auth collection that a filter names, with
the event record's fields bound to ``{:name}`` placeholders — and a title and
body template. Templates may use ``{id}``, ``{collection}``, ``{event}`` and the
record's fields that the API shows (no hidden field, no password, no auth email).

Safety: a recipient gets the push only if they could view the record through
the collection's ``viewRule`` (as realtime subscribers are checked), so a push
never tells anyone about a record they could not read. The payload is
``{title, body, event, collection, collectionId, recordId}`` (and ``url`` when
the rule has one).

The rules live in ``_params`` (key ``push_rules``) as one JSON list. Each node
caches them and re-reads them at most ``RELOAD_AFTER`` seconds later, so a
change made through another node applies within that time. Rules run on the
node that committed the write, once per event, in the background.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from keelbase.core.collections.collection import Collection
from keelbase.core.dates import now_string
from keelbase.core.fields.relation import RelationField
from keelbase.core.ids import random_string
from keelbase.core.records.record import Record
from keelbase.errors import ApiError, BadRequestError, NotFoundError, field_error, required_error
from keelbase.store import system
from keelbase.store.base import Store

PARAM = "push_rules"
EVENTS = ("create", "update", "delete")
URGENCIES = ("very-low", "low", "normal", "high")
MAX_TTL = 28 * 24 * 3600
MAX_RULES = 200
MAX_TITLE = 200
MAX_BODY = 1000
MAX_URL = 1000
MAX_FILTER = 2000
MAX_RECIPIENTS = 1000  # per event: users beyond this many are not pushed to (logged)
RELOAD_AFTER = 5.0
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")
BUILTINS = ("id", "collection", "event")


@dataclass
class PushRule:
    id: str
    collectionId: str
    events: list[str]
    relations: list[str] = field(default_factory=list)
    recipientsCollection: str = ""  # auth collection id the filter is over
    recipients: str = ""  # filter over it; ``{:field}`` bound from the record
    title: str = ""
    body: str = ""
    url: str = ""
    ttl: int = 24 * 3600
    urgency: str = "normal"
    active: bool = True
    created: str = ""
    updated: str = ""

    def to_json(self, collections: dict[str, Collection]) -> dict[str, Any]:
        data = asdict(self)
        found = collections.get(self.collectionId)
        data["collection"] = found.name if found else ""
        target = collections.get(self.recipientsCollection)
        data["recipientsCollectionName"] = target.name if target else ""
        return data


def shown_fields(collection: Collection) -> set[str]:
    """The record fields a template may use: what the API would show to a viewer."""
    names = set()
    for item in collection.fields:
        if item.hidden or item.type == "password":
            continue
        if collection.is_auth and item.name in ("email", "tokenKey", "emailVisibility"):
            continue
        names.add(item.name)
    return names


def render(template: str, record: Record, event: str) -> str:
    allowed = shown_fields(record.collection)
    values = {"id": record.id, "collection": record.collection.name, "event": event}

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if name in allowed:
            value = record.get(name)
            if isinstance(value, list):
                return ", ".join(str(v) for v in value)
            return "" if value is None else str(value)
        return match.group(0)

    return PLACEHOLDER.sub(one, template)


def payload(rule: PushRule, record: Record, event: str, limit: int) -> dict[str, Any]:
    """The JSON a rule pushes for an event: the rendered texts, cut to fit ``limit`` bytes
    (record fields can make them long): the body first, then the url, then the title."""
    out: dict[str, Any] = {
        "title": render(rule.title, record, event)[:MAX_TITLE],
        "body": render(rule.body, record, event)[:MAX_BODY],
        "event": event,
        "collection": record.collection.name,
        "collectionId": record.collection.id,
        "recordId": record.id,
    }
    if rule.url:
        out["url"] = render(rule.url, record, event)[:MAX_URL]
    for key in ("body", "url", "title"):
        excess = len(orjson.dumps(out)) - limit
        if excess <= 0:
            break
        if key in out:
            text = out[key].encode()
            out[key] = text[: max(0, len(text) - excess - 3)].decode(errors="ignore")
            out[key] += "…" if out[key] else ""
    return out


def filter_params(record: Record) -> dict[str, Any]:
    """The record's values bound to the recipients filter's ``{:name}`` placeholders
    (scalars only: lists bind as an empty text; use ``relations`` for them)."""
    params: dict[str, Any] = {"id": record.id}
    for item in record.collection.fields:
        value = record.get(item.name)
        params[item.name] = value if isinstance(value, str | int | float | bool) else ""
    return params


class PushRules:
    """The stored rules, cached; changed only by a superuser through ``/api/push/rules``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cached: list[PushRule] | None = None
        self._read_at = 0.0

    async def all(self) -> list[PushRule]:
        if self._cached is None or time.monotonic() - self._read_at > RELOAD_AFTER:
            async with self.store.read() as conn:
                self._cached = _decode(await system.get_param(conn, PARAM))
            self._read_at = time.monotonic()
        return self._cached

    async def of(self, collection_id: str, event: str) -> list[PushRule]:
        return [
            r
            for r in await self.all()
            if r.active and r.collectionId == collection_id and event in r.events
        ]

    async def get(self, rule_id: str) -> PushRule:
        for rule in await self.all():
            if rule.id == rule_id:
                return rule
        raise NotFoundError("The requested resource wasn't found.")

    async def change(self, rule_id: str, rule: PushRule | None) -> None:
        """Add (``rule_id`` empty), replace or (``rule`` None) delete one rule, under a lock."""
        async with self.store.transaction() as conn:
            now = now_string()
            rules = _decode(await system.lock_param(conn, self.store.dialect, PARAM, now))
            index = next((i for i, r in enumerate(rules) if r.id == rule_id), None)
            if rule_id and index is None:
                raise NotFoundError("The requested resource wasn't found.")
            if rule is None and index is not None:
                del rules[index]
            elif rule is not None and index is not None:
                rules[index] = rule
            elif rule is not None:
                if len(rules) >= MAX_RULES:
                    raise BadRequestError(f"At most {MAX_RULES} push rules.")
                rules.append(rule)
            await system.set_param(conn, PARAM, [asdict(r) for r in rules], now)
        self._cached = None


def _decode(value: Any) -> list[PushRule]:
    rules = []
    for item in value if isinstance(value, list) else []:
        try:
            rules.append(PushRule(**item))
        except TypeError:
            continue  # a shape this version does not know: skipped, not fatal
    return rules


def parse_rule(
    body: Any,
    collection_of: Any,
    previous: PushRule | None = None,
) -> PushRule:
    """A rule from a request body (all fields for a new one, some for an update);
    a 400 naming each bad field otherwise. ``collection_of(name_or_id)`` finds a collection."""
    body = body if isinstance(body, dict) else {}
    base = asdict(previous) if previous else {}
    errors: dict[str, Any] = {}

    def pick(name: str, default: Any) -> Any:
        return body[name] if name in body else base.get(name, default)

    collection = None
    target_name = body.get("collection", previous.collectionId if previous else None)
    if not isinstance(target_name, str) or not target_name:
        errors["collection"] = required_error()
    else:
        collection = _find(collection_of, target_name)
        if collection is None or collection.is_view:
            errors["collection"] = field_error(
                "validation_invalid_collection", "Must be a base or auth collection."
            )

    events = pick("events", None)
    if not isinstance(events, list) or not events or any(e not in EVENTS for e in events):
        errors["events"] = field_error(
            "validation_invalid_events", "Must be a non-empty list of create, update, delete."
        )
        events = []

    relations = pick("relations", [])
    if not isinstance(relations, list) or not all(isinstance(r, str) for r in relations):
        errors["relations"] = field_error("validation_invalid_relations",
                                          "Must be a list of relation field names.")  # fmt: skip
        relations = []
    elif collection is not None:
        for name in relations:
            item = collection.field(name)
            to = (
                _find(collection_of, item.collectionId) if isinstance(item, RelationField) else None
            )
            if to is None or not to.is_auth:
                errors["relations"] = field_error(
                    "validation_invalid_relations",
                    f"{name!r} is not a relation field to an auth collection.",
                )
                break

    recipients = pick("recipients", "")
    recipients_collection = None
    if not isinstance(recipients, str) or len(recipients) > MAX_FILTER:
        errors["recipients"] = field_error("validation_invalid_filter",
                                           f"Must be a filter of at most {MAX_FILTER} characters.")  # fmt: skip
        recipients = ""
    target = body.get("recipientsCollection", previous.recipientsCollection if previous else "")
    if recipients:
        recipients_collection = (
            _find(collection_of, target or "users") if isinstance(target, str) else None
        )
        if recipients_collection is None or not recipients_collection.is_auth:
            errors["recipientsCollection"] = field_error(
                "validation_invalid_collection", "Must be an auth collection."
            )
    if not recipients and not relations and "relations" not in errors:
        errors["recipients"] = field_error(
            "validation_required", "Name the recipients: relations, a recipients filter, or both."
        )

    texts: dict[str, str] = {}
    for name, limit in (("title", MAX_TITLE), ("body", MAX_BODY), ("url", MAX_URL)):
        value = pick(name, "")
        if not isinstance(value, str) or len(value) > limit:
            errors[name] = field_error("validation_invalid_text",
                                       f"Must be a text of at most {limit} characters.")  # fmt: skip
            value = ""
        elif collection is not None:
            allowed = shown_fields(collection) | set(BUILTINS)
            unknown = [p for p in PLACEHOLDER.findall(value) if p not in allowed]
            if unknown:
                errors[name] = field_error(
                    "validation_invalid_template",
                    f"Unknown or hidden field in the template: {unknown[0]}.",
                )
        texts[name] = value
    if not texts["title"] and "title" not in errors:
        errors["title"] = required_error()

    ttl = pick("ttl", 24 * 3600)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= MAX_TTL:
        errors["ttl"] = field_error("validation_invalid_ttl",
                                    f"Must be a whole number of seconds from 0 to {MAX_TTL}.")  # fmt: skip
        ttl = 0
    urgency = pick("urgency", "normal")
    if urgency not in URGENCIES:
        errors["urgency"] = field_error("validation_invalid_urgency",
                                        f"Must be one of {', '.join(URGENCIES)}.")  # fmt: skip
    active = pick("active", True)
    if not isinstance(active, bool):
        errors["active"] = field_error("validation_invalid_bool", "Must be true or false.")
    if errors:
        raise BadRequestError("Failed to save the push rule.", errors)
    assert collection is not None
    now = now_string()
    return PushRule(
        id=previous.id if previous else random_string(15),
        collectionId=collection.id,
        events=[e for e in EVENTS if e in events],
        relations=list(dict.fromkeys(relations)),
        recipientsCollection=recipients_collection.id if recipients_collection else "",
        recipients=recipients,
        title=texts["title"],
        body=texts["body"],
        url=texts["url"],
        ttl=ttl,
        urgency=str(urgency),
        active=bool(active),
        created=previous.created if previous else now,
        updated=now,
    )


def _find(collection_of: Any, name_or_id: str) -> Collection | None:
    try:
        found: Collection = collection_of(name_or_id)
    except ApiError:
        return None
    return found
