"""The child process that parses a large JSON body: bytes on stdin, ``marshal`` on stdout.

Run as a script (``python -I body_json_worker.py DEPTH KEYS VALUES``), so that it
imports orjson and nothing of Keelbase: it starts in a few tens of milliseconds.
A body past a bound is answered with the bound's message instead of the value.
Imported, it gives the server the same ``problem_of`` for small bodies.
"""

from __future__ import annotations

import marshal
import sys
from typing import Any

import orjson

OK = b"0"  # then the value, marshalled
INVALID = b"1"  # not JSON
TOO_MUCH = b"2"  # then the bound's message


def problem_of(value: Any, max_depth: int, max_keys: int, max_values: int) -> str | None:
    """Which bound ``value`` goes past (nesting depth, object keys, values), if any.

    Iterative, so a deep value cannot exhaust the stack; it stops at the first bound passed.
    """
    keys = values = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        values += 1
        if values > max_values:
            return f"The body has more than {max_values} values."
        if isinstance(item, dict):
            keys += len(item)
            if keys > max_keys:
                return f"The body has more than {max_keys} object keys."
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= max_depth and children:
            return f"The body is nested deeper than {max_depth} levels."
        stack.extend((child, depth + 1) for child in children)
    return None


def main() -> None:
    max_depth, max_keys, max_values = (int(arg) for arg in sys.argv[1:4])
    out = sys.stdout.buffer
    try:
        value = orjson.loads(sys.stdin.buffer.read())
    except orjson.JSONDecodeError:
        out.write(INVALID)
        return
    problem = problem_of(value, max_depth, max_keys, max_values)
    if problem is not None:
        out.write(TOO_MUCH + problem.encode())
        return
    out.write(OK + marshal.dumps(value))


if __name__ == "__main__":
    main()
