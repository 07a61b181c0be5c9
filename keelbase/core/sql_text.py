"""Splitting SQL-like text at top-level separators, outside parentheses and quotes.

Used for index column lists, view query column lists and the ``fields``
parameter, which all nest commas inside ``(...)``.
"""

from __future__ import annotations


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Parts of ``text`` between top-level ``sep``; blank parts are dropped."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    quote = ""
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [part for part in parts if part]
