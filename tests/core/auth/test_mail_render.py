"""Filling mail templates: PocketBase's placeholders, record values escaped, one pass."""

from __future__ import annotations

from keelbase.core.auth.mail_render import as_text, escape_html, fill, record_placeholders, render
from keelbase.core.auth.options import EmailTemplate
from keelbase.core.collections.collection import auth_system_fields, id_field
from keelbase.core.fields import JsonField, NumberField, SelectField, TextField

FIELDS = [
    id_field(),
    *auth_system_fields(),
    TextField(name="name"),
    NumberField(name="age"),
    JsonField(name="prefs"),
    SelectField(name="tags", maxSelect=3, values=["a", "b"]),
    TextField(name="secret", hidden=True),
]
DATA = {
    "id": "abc123def456ghi",
    "email": "ann@example.com",
    "password": "$argon2id$hash",
    "tokenKey": "key",
    "verified": False,
    "emailVisibility": True,
    "name": "<b>Ann</b> & 'co' \"x\"",
    "age": 42.0,
    "prefs": {"a": [1, 2]},
    "tags": ["a", "b"],
    "secret": "s3cret",
}


def test_escape_like_go() -> None:
    assert (
        escape_html("<a href=\"x\">'&'</a>")
        == "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    )


def test_record_placeholders_skip_hidden_fields() -> None:
    values = record_placeholders(FIELDS, DATA)
    assert values["{RECORD:name}"] == "&lt;b&gt;Ann&lt;/b&gt; &amp; &#39;co&#39; &#34;x&#34;"
    assert values["{RECORD:email}"] == "ann@example.com"
    assert values["{RECORD:verified}"] == "false"
    assert values["{RECORD:emailVisibility}"] == "true"
    assert values["{RECORD:age}"] == "42"
    assert values["{RECORD:prefs}"] == "{&#34;a&#34;:[1,2]}"
    assert values["{RECORD:tags}"] == ""
    for hidden in ("password", "tokenKey", "secret"):
        assert "{RECORD:" + hidden + "}" not in values


def test_as_text() -> None:
    assert as_text(None) == ""
    assert as_text(True) == "true"
    assert as_text(1.5) == "1.5"
    assert as_text(3) == "3"
    assert as_text(["x"]) == ""
    assert as_text("plain") == "plain"
    assert as_text(None, "json") == ""
    assert as_text("x", "json") == '"x"'


def test_render_fills_subject_and_body() -> None:
    template = EmailTemplate(
        subject="Hi {RECORD:name} from {APP_NAME}",
        body='<a href="{APP_URL}/confirm/{TOKEN}">{RECORD:email}</a> {RECORD:tokenKey} {UNKNOWN}',
    )
    values = {
        **record_placeholders(FIELDS, DATA),
        "{APP_NAME}": "Acme <Inc>",
        "{APP_URL}": "https://acme.test",
        "{TOKEN}": "t.o.k",
    }
    subject, body = render(template, values)
    assert subject == "Hi &lt;b&gt;Ann&lt;/b&gt; &amp; &#39;co&#39; &#34;x&#34; from Acme <Inc>"
    assert body == (
        '<a href="https://acme.test/confirm/t.o.k">ann@example.com</a> {RECORD:tokenKey} {UNKNOWN}'
    )


def test_one_pass_values_are_not_filled_again() -> None:
    values = {"{RECORD:name}": "{TOKEN}", "{TOKEN}": "secret-token"}
    assert fill("{RECORD:name} / {TOKEN}", values) == "{TOKEN} / secret-token"


def test_default_templates_have_the_token_link() -> None:
    from keelbase.core.auth.options import AuthOptions

    options = AuthOptions()
    values = {"{APP_NAME}": "Acme", "{APP_URL}": "http://x.test", "{TOKEN}": "TKN"}
    for template, path in (
        (options.verificationTemplate, "confirm-verification"),
        (options.resetPasswordTemplate, "confirm-password-reset"),
        (options.confirmEmailChangeTemplate, "confirm-email-change"),
    ):
        subject, body = render(template, values)
        assert f"http://x.test/_/#/auth/{path}/TKN" in body
        assert "Acme" in subject and "{" not in subject
