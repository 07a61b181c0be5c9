"""Mail templates of auth collections, filled in as PocketBase fills them.

A template's subject and body hold placeholders in braces: ``{APP_NAME}``,
``{APP_URL}``, ``{TOKEN}`` (and ``{OTP}``, ``{OTP_ID}``, ``{ALERT_INFO}`` for
the mails that have them) and ``{RECORD:field}`` for each field of the
record that is not hidden. Record values are HTML-escaped, because they come
from users and land in an HTML mail; the app's own settings are not.

Placeholders are replaced in one pass, so a value that itself looks like a
placeholder (a user named ``{TOKEN}``) stays as it is. Unknown placeholders
are left untouched, as PocketBase leaves them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from keelbase.core.fields import Field
from keelbase.core.records.record import Record

_PLACEHOLDER = re.compile(r"\{[A-Z_]+(?::[^{}]+)?\}")
# Go's html.EscapeString: the five characters and their exact entities.
_ESCAPES = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&#39;", '"': "&#34;"})

APP_NAME = "{APP_NAME}"
APP_URL = "{APP_URL}"
TOKEN = "{TOKEN}"
OTP = "{OTP}"
OTP_ID = "{OTP_ID}"
ALERT_INFO = "{ALERT_INFO}"


LAYOUT = """<!DOCTYPE html>
<html>
<head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <meta name="viewport" content="width=device-width,initial-scale=1" />
    <style>
        body { padding: 20px 30px; margin: 0; color: #16161a; background: #fff;
               font-size: 14px; line-height: 20px; font-family: Source Sans Pro, sans-serif, emoji; }
        p { display: block; margin: 10px 0; }
        .btn { display: inline-block; color: #fff !important; background: #16161a !important;
               text-decoration: none !important; line-height: 40px; min-width: 150px;
               text-align: center; padding: 0 20px; margin: 5px 0; font-weight: bold;
               border-radius: 6px; }
    </style>
</head>
<body>
    {BODY}
</body>
</html>
"""


class Template(Protocol):
    subject: str
    body: str


def escape_html(text: str) -> str:
    return text.translate(_ESCAPES)


def as_text(value: Any, field_type: str = "") -> str:
    """A field value as PocketBase's ``GetString`` gives it.

    A ``json`` field gives its JSON text; other lists (multiple selects,
    relations, files) give an empty string.
    """
    if field_type == "json":
        return "" if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return value
    return ""


def record_placeholders(fields: Iterable[Field], data: Mapping[str, Any]) -> dict[str, str]:
    """``{RECORD:name}`` for each visible field, its value escaped for HTML."""
    return {
        "{RECORD:" + f.name + "}": escape_html(as_text(data.get(f.name), f.type))
        for f in fields
        if not f.hidden
    }


def fill(text: str, placeholders: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: placeholders.get(m.group(0), m.group(0)), text)


def render(template: Template, placeholders: Mapping[str, str]) -> tuple[str, str]:
    """The template's subject and body with every known placeholder filled in."""
    return fill(template.subject, placeholders), fill(template.body, placeholders)


def wrap(body: str) -> str:
    """The body inside a plain HTML page, as PocketBase sends its mails."""
    return LAYOUT.replace("{BODY}", body)


def render_record_mail(
    template: Template,
    app_name: str,
    app_url: str,
    record: Record,
    extra: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """Subject and full HTML page of a collection's mail to ``record``."""
    placeholders = {
        **record_placeholders(record.collection.fields, record.data),
        APP_NAME: app_name,
        APP_URL: app_url,
        **(extra or {}),
    }
    subject, body = render(template, placeholders)
    return subject, wrap(body)
