"""The ``fields`` query parameter: which keys of an answer a client wants.

``id,title,expand.author.name,body:excerpt(200,true)``; ``*`` keeps every key
at its level. ``:excerpt(max, withEllipsis)`` turns HTML into plain text and
cuts it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from keelbase.core.filter.errors import FilterError
from keelbase.core.sql_text import split_top_level


@dataclass(frozen=True)
class Excerpt:
    max: int
    ellipsis: bool


Tree = dict[str, Any]  # key -> Tree, or key -> Excerpt for a leaf with the modifier

_EXCERPT = re.compile(r"^excerpt\(\s*(\d+)\s*(?:,\s*(\w+)\s*)?\)$")


def parse_fields(text: str) -> Tree:
    tree: Tree = {}
    for item in split_top_level(text):
        path, _, modifier = item.partition(":")
        leaf: Any = {}
        if modifier:
            match = _EXCERPT.match(modifier.strip())
            if not match:
                raise FilterError(f'missing or invalid modifier "{modifier}"')
            maximum = int(match.group(1))
            if maximum <= 0:
                raise FilterError("max argument must be > 0")
            ellipsis = (match.group(2) or "false").lower() in ("true", "1", "t")
            leaf = Excerpt(maximum, ellipsis)
        node = tree
        keys = [k for k in path.split(".") if k]
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        if keys:
            existing = node.get(keys[-1])
            if not (isinstance(existing, dict) and existing and leaf == {}):
                node[keys[-1]] = leaf
    return tree


def pick(value: Any, tree: Tree) -> Any:
    if not tree:
        return value
    if isinstance(value, list):
        return [pick(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    wildcard = "*" in tree
    for key, item in value.items():
        if key in tree:
            sub = tree[key]
            if isinstance(sub, Excerpt):
                out[key] = excerpt(item, sub) if isinstance(item, str) else item
            else:
                out[key] = pick(item, sub)
        elif wildcard:
            out[key] = item
    return out


def pick_list_result(result: dict[str, Any], tree: Tree) -> dict[str, Any]:
    """For list answers the paths apply to each item; the page keys stay."""
    if not tree:
        return result
    return {**result, "items": pick(result["items"], tree)}


def excerpt(text: str, spec: Excerpt) -> str:
    # html.parser is imported by the first excerpt, not by every start.
    from keelbase.core.records.html_text import plain_text

    plain = plain_text(text)
    if len(plain) <= spec.max:
        return plain
    cut = plain[: spec.max].strip()
    return cut + "..." if spec.ellipsis else cut
