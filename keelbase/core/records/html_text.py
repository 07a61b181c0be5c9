"""The visible text of an HTML fragment, for the ``:excerpt`` field modifier.

Apart from ``fields_picker`` so that ``html.parser`` is imported by the first
excerpt, not by every start.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIPPED_TAGS = frozenset(
    {"head", "style", "script", "iframe", "embed", "applet", "object", "svg", "img", "picture",
     "dialog", "template", "button", "form", "textarea", "input", "select", "option"}
)  # fmt: skip
_WHITESPACE = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS and self.skipping:
            self.skipping -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def plain_text(html: str) -> str:
    """The text of ``html`` without the tags, scripts and styles, whitespace runs as one space."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return _WHITESPACE.sub(" ", "".join(parser.parts)).strip()
