"""What a file really is, from its first bytes, not from what the client claims.

Binary formats come from ``filetype``'s signatures; text formats (SVG, HTML,
JSON, plain text) from a look at the text itself. Unknown binary data is
``application/octet-stream``. ``filetype`` is imported with the first file.
"""

from __future__ import annotations

SNIFF_BYTES = 8192
OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain; charset=utf-8"

# Served inline; anything else is sent as an attachment (SVG and HTML could run scripts).
INLINE_TYPES = frozenset(
    {
        "image/png", "image/jpg", "image/jpeg", "image/gif", "image/webp", "image/x-icon",
        "image/bmp", "video/webm", "video/mp4", "video/3gpp", "video/quicktime",
        "video/x-ms-wmv", "audio/basic", "audio/aiff", "audio/mpeg", "audio/midi", "audio/mp3",
        "audio/wave", "audio/wav", "audio/x-wav", "audio/x-mpeg", "audio/x-m4a", "audio/aac",
        "application/pdf", "application/x-pdf",
    }
)  # fmt: skip
THUMBABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})


def _text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character cut at the end of the sniffed bytes is still text
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    return text


def sniff(head: bytes) -> str:
    """The MIME type of content starting with ``head``."""
    if not head:
        return TEXT_PLAIN
    import filetype

    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    text = _text(head)
    if text is None:
        return OCTET_STREAM
    stripped = text.lstrip().lower()
    if stripped.startswith("<svg") or (stripped.startswith("<?xml") and "<svg" in stripped):
        return "image/svg+xml"
    if stripped.startswith("<?xml"):
        return "text/xml; charset=utf-8"
    if stripped.startswith(("<!doctype html", "<html", "<head", "<body")):
        return "text/html; charset=utf-8"
    if stripped.startswith(("{", "[")) and stripped.rstrip().endswith(("}", "]")):
        return "application/json"
    return TEXT_PLAIN


def base_type(mime: str) -> str:
    return mime.split(";", 1)[0].strip().lower()


def allowed(mime: str, accepted: list[str]) -> bool:
    """Whether ``mime`` is one of ``accepted`` (an empty list accepts everything)."""
    if not accepted:
        return True
    base = base_type(mime)
    return any(base == base_type(a) for a in accepted)
