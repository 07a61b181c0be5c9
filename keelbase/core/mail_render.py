"""Filling an auth collection's mail template, with PocketBase's placeholders.

``{APP_NAME}``, ``{APP_URL}``, ``{RECORD:field}`` for every field that is not
hidden, plus whatever the caller adds (``{OTP}``, ``{ALERT_INFO}``, ``{TOKEN}``…).
Record values are HTML-escaped (except dates, numbers and booleans, which
cannot hold markup), because the body is HTML. The body is then wrapped in a
plain HTML page, as PocketBase does.
"""

from __future__ import annotations

import html
from typing import Any

from keelbase.core.auth_options import EmailTemplate
from keelbase.core.record import Record

UNESCAPED_TYPES = frozenset({"autodate", "date", "bool", "number"})

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


def _as_text(value: Any) -> str:
    """A field value as PocketBase's ``GetString`` gives it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    return ""


def placeholders(
    app_name: str, app_url: str, record: Record, extra: dict[str, str] | None = None
) -> dict[str, str]:
    values = dict(extra or {})
    values.setdefault("{APP_NAME}", app_name)
    values.setdefault("{APP_URL}", app_url)
    for field in record.collection.fields:
        if field.hidden:
            continue
        key = "{RECORD:" + field.name + "}"
        if key in values:
            continue
        text = _as_text(record.get(field.name))
        values[key] = text if field.type in UNESCAPED_TYPES else html.escape(text)
    return values


def render(
    template: EmailTemplate,
    app_name: str,
    app_url: str,
    record: Record,
    extra: dict[str, str] | None = None,
) -> tuple[str, str]:
    """The subject and the HTML body of ``template`` for ``record``."""
    subject, body = template.subject, template.body
    for key, value in placeholders(app_name, app_url, record, extra).items():
        subject = subject.replace(key, value)
        body = body.replace(key, value)
    return subject, LAYOUT.replace("{BODY}", body)
