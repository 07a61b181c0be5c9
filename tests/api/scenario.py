"""Scenario tables for the HTTP API: a new case is data, not code.

Each ``Scenario`` names a request (who sends it, method, URL, headers, body) and
what must come back (status, JSON fragments that must be contained, keys that
must be absent, and, like PocketBase's ``ExpectedEvents``, how often each hook
event fired). ``$name`` in URLs, headers and bodies is replaced from the
world's ids (``$$`` is a plain ``$``); a name the world does not define fails
the scenario at once rather than going out as text.

Every scenario runs in a world of its own (``tests/api/worlds.py``): what it
needs is made by the table's setup, or by its own ``before`` steps, and what it
changes is seen by its ``after`` checks only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.testclient import TestClient

from keelbase.hooks import Hook

_PLACEHOLDER = re.compile(r"\$(\$|[A-Za-z_]\w*)")


class UnfilledPlaceholder(LookupError):
    """A ``$name`` in a scenario that the world has no id for."""

    def __init__(self, name: str, text: str, known: list[str]) -> None:
        super().__init__(
            f"unfilled placeholder ${name} in {text!r}: the world has no id {name!r} "
            f"(it has: {', '.join(sorted(known)) or 'none'})"
        )
        self.name = name


@dataclass
class World:
    """A running app with a superuser, two users and their tokens, and saved ids."""

    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def app(self) -> Any:
        """The ``keelbase.App`` behind the client."""
        return self.client.app.state.keelbase  # type: ignore[attr-defined]

    def headers(self, who: str) -> dict[str, str]:
        token = self.tokens.get(who)
        return {"Authorization": token} if token else {}

    def fill(self, value: Any) -> Any:
        """``value`` with every ``$name`` replaced by ``ids[name]``; unknown names raise."""
        if isinstance(value, str):

            def replace(match: re.Match[str]) -> str:
                name = match.group(1)
                if name == "$":
                    return "$"
                if name not in self.ids:
                    raise UnfilledPlaceholder(name, value, list(self.ids))
                return self.ids[name]

            return _PLACEHOLDER.sub(replace, value)
        if isinstance(value, dict):
            return {self.fill(k): self.fill(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.fill(v) for v in value]
        return value

    def request(self, method: str, url: str, who: str = "guest", **kwargs: Any) -> Any:
        return self.client.request(method, self.fill(url), headers=self.headers(who), **kwargs)


@dataclass
class Scenario:
    name: str
    method: str
    url: str
    who: str = "guest"
    body: Any = None
    raw: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    contains: Any = None
    absent: tuple[str, ...] = ()
    save: dict[str, str] = field(default_factory=dict)  # ids key -> response key
    # Hook events that must have fired, and how often, while the request was served:
    # {"record_create": 1}; "*": 0 means no event other than the ones named (PocketBase's
    # ExpectedEvents). None checks nothing. Names are those of ``keelbase.hooks.Hooks``.
    events: dict[str, int] | None = None
    before: tuple[Scenario, ...] = ()  # run first, in the same world (events not counted)
    after: tuple[Scenario, ...] = ()  # checks run afterwards, in the same world

    def __str__(self) -> str:
        return self.name


def contains(actual: Any, expected: Any, path: str = "$") -> None:
    """``expected`` must be a fragment of ``actual``: every key and item it names, equal."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}: missing key {key!r} in {actual!r}"
            contains(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), (
            f"{path}: expected {len(expected)} items, got {actual!r}"
        )
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            contains(a, e, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: expected {expected!r}, got {actual!r}"


@contextmanager
def counting_events(app: Any) -> Iterator[Counter[str]]:
    """Count every hook event of ``app`` while inside, by hook name."""
    counts: Counter[str] = Counter()
    bound: list[tuple[Hook[Any], int]] = []
    for hook in app.hooks.all():

        async def count(event: Any, name: str = hook.name) -> None:
            counts[name] += 1
            await event.next()

        bound.append((hook, hook.bind(count)))
        # first in the chain, so an event counts even when a later handler stops it
        hook.bindings.insert(0, hook.bindings.pop())
    try:
        yield counts
    finally:
        for hook, binding in bound:
            hook.unbind(binding)


def check_events(name: str, expected: dict[str, int], fired: Counter[str], known: set[str]) -> None:
    """PocketBase's ExpectedEvents check: each named event fired exactly that often."""
    unknown = set(expected) - known - {"*"}
    assert not unknown, f"{name}: no such hook event {sorted(unknown)} (known: {sorted(known)})"
    problems = [
        f"{event} fired {fired[event]} time(s), expected {count}"
        for event, count in sorted(expected.items())
        if event != "*" and fired[event] != count
    ]
    if expected.get("*", 1) <= 0:
        problems += [
            f"{event} fired {count} time(s), expected none"
            for event, count in sorted(fired.items())
            if event not in expected and count
        ]
    assert not problems, f"{name}: {'; '.join(problems)} (all fired: {dict(fired)})"


def run(world: World, scenario: Scenario) -> Any:
    for step in scenario.before:
        run(world, step)
    headers = world.headers(scenario.who)
    headers.update(world.fill(scenario.headers))
    kwargs: dict[str, Any] = {}
    if scenario.raw is not None:
        kwargs["content"] = scenario.raw
        headers["Content-Type"] = scenario.content_type or "application/json"
    elif scenario.body is not None:
        kwargs["json"] = world.fill(scenario.body)
    url = world.fill(scenario.url)
    # hooks are counted only when asked: a bound handler takes other code paths
    counting = counting_events(world.app) if scenario.events is not None else nullcontext(Counter())
    with counting as fired:
        response = world.client.request(scenario.method, url, headers=headers, **kwargs)
    assert response.status_code == scenario.status, (
        f"{scenario.name}: status {response.status_code} != {scenario.status}: {response.text[:2000]}"
    )
    if scenario.events is not None:
        known = {hook.name for hook in world.app.hooks.all()}
        check_events(scenario.name, scenario.events, fired, known)
    data = response.json() if response.content else None
    if scenario.contains is not None:
        contains(data, world.fill(scenario.contains))
    for key in scenario.absent:
        assert isinstance(data, dict) and key not in data, (
            f"{scenario.name}: {key!r} should be absent"
        )
    for id_key, response_key in scenario.save.items():
        world.ids[id_key] = data[response_key]
    for check in scenario.after:
        run(world, check)
    return data


def params(scenarios: list[Scenario]) -> Any:
    names = [s.name for s in scenarios]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"scenario names must be unique in a table: {duplicates}"
    return pytest.mark.parametrize("scenario", scenarios, ids=names)
