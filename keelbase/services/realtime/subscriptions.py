"""Realtime subscriptions: a topic with its options, and the checks of a subscribe request.

A topic is ``posts/*``, ``posts/RECORD_ID`` or a custom name, optionally followed
by ``?options={"query": {...}, "headers": {...}}`` as PocketBase's SDKs send it;
the options act like the query and headers of the equivalent REST request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from keelbase.core.request_info import header_key
from keelbase.errors import BadRequestError, field_error, required_error

MAX_SUBSCRIPTIONS = 1000
MAX_TOPIC_LENGTH = 2500


@dataclass
class Subscription:
    topic: str  # exactly as the client sent it: the name its events carry
    base: str  # the topic without its options
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # Subscriptions with equal options and auth get the same answer: computed once per event.
    options_key: str = ""

    def __post_init__(self) -> None:
        self.options_key = json.dumps([self.query, self.headers], sort_keys=True)


def parse_subscription(topic: str) -> Subscription:
    base, _, raw_options = topic.partition("?options=")
    query: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if raw_options:
        try:
            options = json.loads(unquote(raw_options))
        except ValueError:
            options = {}
        if isinstance(options, dict):
            if isinstance(options.get("query"), dict):
                query = {
                    str(k): v if isinstance(v, str) else json.dumps(v)
                    for k, v in options["query"].items()
                }
            if isinstance(options.get("headers"), dict):
                headers = {header_key(str(k)): str(v) for k, v in options["headers"].items()}
    return Subscription(topic, base, query, headers)


def check_subscribe_request(client_id: Any, topics: Any) -> list[str]:
    """The topics of a well-formed request; a 400 with PocketBase's field errors otherwise."""
    errors: dict[str, Any] = {}
    if not isinstance(client_id, str) or not client_id:
        errors["clientId"] = required_error()
    if topics is None:
        topics = []
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        errors["subscriptions"] = field_error(
            "validation_invalid_value", "Must be a list of topics."
        )
    elif len(topics) > MAX_SUBSCRIPTIONS:
        errors["subscriptions"] = field_error(
            "validation_length_too_long",
            f"The length must be no more than {MAX_SUBSCRIPTIONS}.",
            {"max": MAX_SUBSCRIPTIONS},
        )
    else:
        for index, topic in enumerate(topics):
            if len(topic) > MAX_TOPIC_LENGTH:
                errors.setdefault("subscriptions", {})[str(index)] = field_error(
                    "validation_length_too_long",
                    f"The length must be no more than {MAX_TOPIC_LENGTH}.",
                    {"max": MAX_TOPIC_LENGTH},
                )
    if errors:
        raise BadRequestError(data=errors)
    return list(topics)
