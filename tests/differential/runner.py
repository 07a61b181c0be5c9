"""Send one scenario step to one server, remembering what it created.

Each server has its own ``Side``: its HTTP client, its tokens and the ids its
answers produced (``save``). ``$name`` in a step's URL or body is replaced by
that server's own value, so both servers get equivalent requests even though
they generate different ids.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.differential.normalise import Answer, Normaliser

VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
STEP_KEYS = frozenset(
    {
        "name",
        "method",
        "url",
        "as",
        "body",
        "raw",
        "content_type",
        "form",
        "files",
        "headers",
        "save",
        "expect_same",
        "xfail_reason",
        "unordered_on_postgres",
    }
)


@dataclass
class Side:
    """One server as the scenario sees it: a client plus the values it handed out."""

    label: str
    client: httpx.Client
    values: dict[str, Any] = field(default_factory=dict)

    def fill(self, value: Any) -> Any:
        """Replace ``$name`` by this server's saved value; a lone ``$name`` keeps its type."""
        if isinstance(value, str):
            whole = VARIABLE.fullmatch(value)
            if whole and whole.group(1) in self.values:
                return self.values[whole.group(1)]
            return VARIABLE.sub(lambda m: str(self.values.get(m.group(1), m.group(0))), value)
        if isinstance(value, dict):
            return {self.fill(key): self.fill(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.fill(item) for item in value]
        return value

    def token(self, who: str) -> str | None:
        """The saved token of ``who`` (a login step saves ``<who>_token``)."""
        if who == "guest":
            return None
        token = self.values.get(f"{who}_token")
        if token is None:
            raise LookupError(
                f"{self.label}: no token saved for {who!r}; the scenario is one story, "
                "run the whole module rather than a single step"
            )
        return str(token)

    def send(self, step: dict[str, Any]) -> httpx.Response:
        """Build the step's request for this server and send it."""
        headers = {key: str(self.fill(value)) for key, value in step.get("headers", {}).items()}
        token = self.token(step.get("as", "guest"))
        if token:
            headers["Authorization"] = token
        kwargs: dict[str, Any] = {}
        if "raw" in step:
            kwargs["content"] = str(self.fill(step["raw"])).encode()
            if step.get("content_type") is not None:
                headers["Content-Type"] = step["content_type"]
        elif "files" in step:
            kwargs["data"] = self.fill(step.get("form", {}))
            # A ``None`` filename sends a plain multipart field (e.g. ``@jsonPayload``).
            kwargs["files"] = [
                (
                    name,
                    (
                        filename,
                        content if isinstance(content, bytes) else str(self.fill(content)).encode(),
                        mime,
                    ),
                )
                for name, filename, content, mime in step["files"]
            ]
        elif "form" in step:
            kwargs["data"] = self.fill(step["form"])
        elif "body" in step:
            kwargs["json"] = self.fill(step["body"])
        return self.client.request(
            step["method"], self.fill(step["url"]), headers=headers, **kwargs
        )

    def save(self, step: dict[str, Any], body: Any) -> None:
        """Remember the values the step names (``save: {name: path}``), when present."""
        for name, path in step.get("save", {}).items():
            found = lookup(body, path)
            if found is not None:
                self.values[name] = found

    def answer(self, response: httpx.Response) -> Answer:
        """The response, normalised with this server's own saved values."""
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type.startswith("image/"):
            # Image bytes differ between encoders (Go's vs Pillow's): compare the kind only.
            return Answer(response.status_code, media_type, "<image>" if response.content else "")
        text = response.text
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        known = {
            str(value): name
            for name, value in self.values.items()
            if isinstance(value, str) and not name.endswith("_token")
        }
        return Answer(response.status_code, media_type, Normaliser(known)(body))


def lookup(body: Any, path: str) -> Any:
    """Follow ``a.0.b`` or ``fields.name=views.id`` (first list item whose key equals)."""
    current = body
    for part in path.split("."):
        if isinstance(current, list):
            if "=" in part:
                key, _, wanted = part.partition("=")
                current = next(
                    (
                        item
                        for item in current
                        if isinstance(item, dict) and item.get(key) == wanted
                    ),
                    None,
                )
            elif part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                return None
        elif isinstance(current, dict):
            current = current.get(part)
        else:
            return None
        if current is None:
            return None
    return current
