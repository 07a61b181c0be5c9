"""Regular expressions supplied by users: checked once, and values generated from them.

``autogeneratePattern`` is a small regex such as ``[a-z0-9]{15}``; PocketBase
generates a random string matching it. We support the subset people use:
literal characters, character classes with ranges, and ``{n}`` / ``{n,m}``
repetition.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache

from keelbase.core.ids import random_string

_TOKEN = re.compile(r"\[((?:\\.|[^\]])+)\]|\\(.)|([^\[\\{])")
_REPEAT = re.compile(r"\{(\d+)(?:,(\d+))?\}")


def pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid regular expression, or ``None``."""
    if not pattern:
        return None
    try:
        re.compile(pattern)
    except re.error as error:
        return f"Error parsing regexp: {error}."
    return None


def _class_chars(spec: str) -> str:
    chars: list[str] = []
    i = 0
    while i < len(spec):
        ch = spec[i]
        if ch == "\\" and i + 1 < len(spec):
            chars.append(spec[i + 1])
            i += 2
            continue
        if i + 2 < len(spec) and spec[i + 1] == "-":
            start, end = ord(ch), ord(spec[i + 2])
            chars.extend(chr(c) for c in range(start, end + 1))
            i += 3
            continue
        chars.append(ch)
        i += 1
    return "".join(chars)


def generate_from_pattern(pattern: str) -> str:
    """A random string matching ``pattern`` (the subset described above)."""
    out: list[str] = []
    for alphabet, low, high in _plan(pattern):
        count = low + secrets.randbelow(high - low + 1) if high > low else low
        out.append(random_string(count, alphabet))
    return "".join(out)


# A pure function of the pattern text: never stale, nothing invalidates it.
@lru_cache(maxsize=256)
def _plan(pattern: str) -> tuple[tuple[str, int, int], ...]:
    """The pattern read once: every record create generates an id from it."""
    pattern = pattern.removeprefix("^").removesuffix("$")
    parts: list[tuple[str, int, int]] = []
    pos = 0
    while pos < len(pattern):
        match = _TOKEN.match(pattern, pos)
        if not match:
            raise ValueError(f"unsupported autogenerate pattern {pattern!r}")
        pos = match.end()
        if match.group(1) is not None:
            alphabet = _class_chars(match.group(1))
        else:
            alphabet = match.group(2) or match.group(3)
        low = high = 1
        repeat = _REPEAT.match(pattern, pos)
        if repeat:
            low = int(repeat.group(1))
            high = int(repeat.group(2)) if repeat.group(2) else low
            pos = repeat.end()
        parts.append((alphabet, low, high))
    return tuple(parts)
