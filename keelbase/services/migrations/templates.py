"""The text of the migration files Keelbase writes: blank, snapshot, and one per change.

Collections are written as the JSON the API answers with (without ``created``,
``updated`` and OAuth2 providers, whose client secrets do not belong in a
repository), inside ``json.loads(r\"\"\"...\"\"\")``: readable, editable, and
pasteable into the dashboard's import. Every text is checked to load back to
the same data before it is written.
"""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from typing import Any

from keelbase.core.collections.collection import Collection
from keelbase.services.collections.changes import CREATE, DELETE, UPDATE, SchemaChange

# A raw docstring: the change summary quotes rules and values as JSON, backslashes included.
HEADER = '''r"""{title}

{note}
See docs/migrations.md: up(app) runs once, in one transaction with its entry in
_migrations; down(app) reverts it (keelbase migrations down).
"""
'''

BLANK = (
    HEADER
    + """
from keelbase import App


async def up(app: App) -> None:
    # e.g. await app.collections.create({{"name": "posts", "fields": [{{"name": "title", "type": "text"}}]}})
    #      await app.create_record("posts", {{"title": "Hello"}})
    pass


async def down(app: App) -> None:
    # undo what up() did, e.g. await app.collections.delete("posts")
    pass
"""
)

CREATED = (
    HEADER
    + """
import json

from keelbase import App

COLLECTION = {collection}


async def up(app: App) -> None:
    await app.collections.create(COLLECTION)


async def down(app: App) -> None:
    await app.collections.delete(COLLECTION["id"])
"""
)

DELETED = (
    HEADER
    + """
import json

from keelbase import App

COLLECTION = {collection}


async def up(app: App) -> None:
    await app.collections.delete(COLLECTION["id"])


async def down(app: App) -> None:
    await app.collections.create(COLLECTION)
"""
)

UPDATED = (
    HEADER
    + """
import json

from keelbase import App

BEFORE = {before}

AFTER = {after}


async def up(app: App) -> None:
    await app.collections.update(BEFORE["id"], AFTER)


async def down(app: App) -> None:
    await app.collections.update(AFTER["id"], BEFORE)
"""
)

IMPORTED = (
    HEADER
    + """
import json

from keelbase import App

# The collections the import created or changed, as they were after it.
AFTER = {after}

# The collections it changed or deleted, as they were before it.
BEFORE = {before}

CREATED = {created}
DELETED = {deleted}


async def up(app: App) -> None:
    if AFTER:
        await app.collections.import_collections({{"collections": AFTER}})
    for collection_id in DELETED:
        await app.collections.delete(collection_id)


async def down(app: App) -> None:
    if BEFORE:
        await app.collections.import_collections({{"collections": BEFORE}})
    for collection_id in reversed(CREATED):
        await app.collections.delete(collection_id)
"""
)

SNAPSHOT = (
    HEADER
    + """
import json

from keelbase import App

SNAPSHOT = {snapshot}


async def up(app: App) -> None:
    await app.collections.import_collections({{"collections": SNAPSHOT}})


async def down(app: App) -> None:
    # A snapshot replaces no earlier state: there is nothing to undo.
    pass
"""
)


SECRETS_LEFT_OUT = (
    "Auth collections are written without their OAuth2 providers (client ids and secrets)\n"
    "and token secrets, as PocketBase's automigrate leaves them out: set those on each\n"
    "server; replaying this file keeps the providers a server already has."
)


def _note(note: str, collections: list[Collection]) -> str:
    """``note``, plus what the file leaves out when it carries an auth collection."""
    if any(c.is_auth for c in collections):
        return f"{note}\n{SECRETS_LEFT_OUT}"
    return note


def collection_json(collection: Collection) -> dict[str, Any]:
    """A collection as a migration carries it (see the module's docstring)."""
    data = collection.to_json()
    data.pop("created", None)
    data.pop("updated", None)
    oauth2 = data.get("oauth2")
    if isinstance(oauth2, dict):
        oauth2.pop("providers", None)
    return data


def _literal(data: Any) -> str:
    """``data`` as Python source that evaluates to it: ``json.loads`` of a raw string.

    JSON text never holds three unescaped quotes in a row nor ends with a
    backslash, so it always fits in a raw triple-quoted string.
    """
    text = json.dumps(data, indent=4, ensure_ascii=False)
    return f'json.loads(\n    r"""\n{text}\n"""\n)'


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _checked(text: str, expected: dict[str, Any]) -> str:
    """``text``, after checking that its data literals load back to ``expected``."""
    found: dict[str, Any] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            value = node.value
            if isinstance(value, ast.Call) and isinstance(value.args[0], ast.Constant):
                # json.loads(r"""..."""): the raw string is the JSON text itself
                found[node.targets[0].id] = json.loads(str(value.args[0].value))
            elif node.targets[0].id in expected:
                found[node.targets[0].id] = ast.literal_eval(value)
    for name, value in expected.items():
        if found.get(name) != value:
            raise ValueError(f"the migration's {name} does not load back as written")
    return text


def blank(name: str) -> str:
    return BLANK.format(title=f"Migration {name!r}.", note=f"Created {_now()}.")


def snapshot(collections: list[Collection]) -> str:
    data = [collection_json(c) for c in _dependencies_first(collections)]
    text = SNAPSHOT.format(
        title="The collections as they were; imported, existing ones updated.",
        note=_note(f"Written by keelbase migrations collections, {_now()}.", collections),
        snapshot=_literal(data),
    )
    return _checked(text, {"SNAPSHOT": data})


def for_change(change: SchemaChange) -> tuple[str, str] | None:
    """The file name part and text of an automigrate file, or ``None`` when nothing changed."""
    note = f"Written by automigrate, {_now()}. Edit it freely."
    if change.action == CREATE:
        (created,) = change.after
        data = collection_json(created)
        text = CREATED.format(
            title=f"Creates collection {created.name!r}.",
            note=_note(note, [created]),
            collection=_literal(data),
        )
        return f"created_{created.name}", _checked(text, {"COLLECTION": data})
    if change.action == DELETE:
        (deleted,) = change.before
        data = collection_json(deleted)
        text = DELETED.format(
            title=f"Deletes collection {deleted.name!r}.",
            note=_note(note, [deleted]),
            collection=_literal(data),
        )
        return f"deleted_{deleted.name}", _checked(text, {"COLLECTION": data})
    if change.action == UPDATE:
        (old,), (new,) = change.before, change.after
        before, after = collection_json(old), collection_json(new)
        if before == after:
            return None
        text = UPDATED.format(
            title=f"Updates collection {old.name!r}:\n\n" + "\n".join(describe(before, after)),
            note=_note(note, [old, new]),
            before=_literal(before),
            after=_literal(after),
        )
        return f"updated_{old.name}", _checked(text, {"BEFORE": before, "AFTER": after})
    before_list = [collection_json(c) for c in change.before]
    after_list = [collection_json(c) for c in change.after]
    if {c["id"]: c for c in before_list} == {c["id"]: c for c in after_list}:
        return None
    created_ids = [c.id for c in change.created]
    deleted_ids = [c.id for c in change.deleted]
    text = IMPORTED.format(
        title=f"Imports {len(after_list)} collection(s), deletes {len(deleted_ids)}.",
        note=_note(note, [*change.before, *change.after]),
        after=_literal(after_list),
        before=_literal(before_list),
        created=repr(created_ids),
        deleted=repr(deleted_ids),
    )
    checked = {
        "AFTER": after_list,
        "BEFORE": before_list,
        "CREATED": created_ids,
        "DELETED": deleted_ids,
    }
    return "imported_collections", _checked(text, checked)


def _dependencies_first(collections: list[Collection]) -> list[Collection]:
    """The collections in their order, moved so that a relation's target comes first
    where it can (a cycle keeps its order), and views last."""
    by_id = {c.id: c for c in collections}
    placed: dict[str, Collection] = {}
    visiting: set[str] = set()

    def place(collection: Collection) -> None:
        if collection.id in placed or collection.id in visiting:
            return
        visiting.add(collection.id)
        for relation in collection.relation_fields():
            target = by_id.get(relation.collectionId)
            if target is not None and not target.is_view:
                place(target)
        visiting.discard(collection.id)
        placed[collection.id] = collection

    for collection in collections:
        if not collection.is_view:
            place(collection)
    return [*placed.values(), *(c for c in collections if c.is_view)]


def describe(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What an update changed, one line each, for the reader of the file."""
    lines: list[str] = []
    for key in sorted(set(before) | set(after)):
        if key != "fields" and before.get(key) != after.get(key):
            lines.append(f"- {key}: {_short(before.get(key))} -> {_short(after.get(key))}")
    old = {f["id"]: f for f in before.get("fields", [])}
    new = {f["id"]: f for f in after.get("fields", [])}
    for field_id, field in new.items():
        previous = old.get(field_id)
        if previous is None:
            lines.append(f"- field {field['name']!r} ({field['type']}) added")
            continue
        if previous["name"] != field["name"]:
            lines.append(f"- field {previous['name']!r} renamed to {field['name']!r}")
        for key in sorted(set(previous) | set(field)):
            if key != "name" and previous.get(key) != field.get(key):
                lines.append(
                    f"- field {field['name']!r}: {key} "
                    f"{_short(previous.get(key))} -> {_short(field.get(key))}"
                )
    for field_id, field in old.items():
        if field_id not in new:
            lines.append(f"- field {field['name']!r} ({field['type']}) removed")
    return lines


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
