"""One log entry in PocketBase's shape, and the limits on what one may hold.

Levels are PocketBase's (Go's ``slog``): debug -4, info 0, warn 4, error 8.
An entry is made on the request path (or wherever code logs) and encoded for
the store later, in the writer's batch.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import orjson

from keelbase.core.dates import now_string
from keelbase.core.ids import ID_ALPHABET, ID_LENGTH

DEBUG = -4
INFO = 0
WARN = 4
ERROR = 8

# PocketBase 0.40: a message is cut at 8000 characters, ``data`` at ``logs.maxDataSize``
# bytes of JSON (0: about 16 KB); a cut ``data`` says so with ``__pb_truncated__``.
MAX_MESSAGE = 8000
DEFAULT_MAX_DATA = 16 << 10
TRUNCATED_KEY = "__pb_truncated__"


@dataclass(slots=True)
class LogEntry:
    level: int
    message: str
    data: dict[str, Any]
    created: str = ""
    id: str = ""

    def stamped(self) -> LogEntry:
        """The entry with its id and time, given when it was made if not before."""
        if not self.created:
            self.created = now_string()
        if not self.id:
            self.id = new_ids(1)[0]
        return self


# Ids are PocketBase's shape (15 characters of a-z0-9) but start with the time in
# milliseconds (8 characters of base 36, good until the year 2059), so new entries
# land at the end of the id index instead of anywhere in it: with a million
# entries, random ids made each insert five times dearer (``bench.logs_api``).
_TIME_CHARS = 8
_RANDOM_CHARS = ID_LENGTH - _TIME_CHARS
# Every byte maps to an id character: the random parts of a whole batch come from
# one urandom call and one translate. 256 is not a multiple of 36, so the first
# four characters are a little likelier; fine for log ids, which guard nothing.
_ID_TABLE = bytes(ID_ALPHABET[b % len(ID_ALPHABET)].encode()[0] for b in range(256))


# digits before letters, as they sort
_SORTED_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _time_prefix() -> str:
    millis = time.time_ns() // 1_000_000
    out = []
    for _ in range(_TIME_CHARS):
        millis, digit = divmod(millis, 36)
        out.append(_SORTED_ALPHABET[digit])
    return "".join(reversed(out))


def new_ids(count: int) -> list[str]:
    """``count`` ids in PocketBase's form (15 characters of a-z0-9), in time order."""
    prefix = _time_prefix()
    size = _RANDOM_CHARS
    raw = os.urandom(count * size).translate(_ID_TABLE).decode()
    return [prefix + raw[n : n + size] for n in range(0, count * size, size)]


# "000Z" to "999Z", the end of a ``created`` text (one more "999Z" in case a float rounds up)
_MILLIS = [f"{n:03d}Z" for n in range(1000)] + ["999Z"]


class Stamper:
    """``created`` texts for many moments: the date and time to the second is formatted once
    per second, not once per entry, and the milliseconds come from a table."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, moment: float) -> str:
        second = int(moment)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%d %H:%M:%S.", time.gmtime(second))
        return self._prefix + _MILLIS[int((moment - second) * 1000)]


def _default(value: Any) -> Any:
    """Values JSON has no word for (exceptions, dates, sets) are kept as their text."""
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def encode_data(data: dict[str, Any], max_size: int) -> str:
    """``data`` as JSON text, cut to ``max_size`` bytes (0: the default) key by key."""
    limit = max_size or DEFAULT_MAX_DATA
    try:  # plain JSON (a request's entry) goes the fast way
        raw = orjson.dumps(data)
    except TypeError:
        raw = orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
    if len(raw) <= limit:
        return raw.decode()
    kept: dict[str, Any] = {}
    size = 2
    for key, value in data.items():
        part = len(orjson.dumps({key: value}, default=_default, option=orjson.OPT_NON_STR_KEYS))
        if size + part > limit:
            break
        kept[key] = value
        size += part
    kept[TRUNCATED_KEY] = True
    return orjson.dumps(kept, default=_default, option=orjson.OPT_NON_STR_KEYS).decode()


def cut_message(message: str) -> str:
    return message[:MAX_MESSAGE]
