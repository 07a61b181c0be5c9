"""The hook chain: handlers wrap an action, each deciding whether (and how) it goes on.

A handler receives an event, may change it, and calls ``await e.next()`` to
run the rest of the chain, whose last link is the action itself. Code after
``await e.next()`` sees the result. A handler that raises ``ApiError`` stops
the action with that error; one that returns without calling ``next`` stops it
silently.

    @app.on_record_create("posts")
    async def add_slug(e: RecordEvent) -> None:
        e.record.data["slug"] = slugify(e.record.get("title"))
        await e.next()
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

log = logging.getLogger("keelbase.hooks")


class Event:
    """What every event has: ``next()`` to go on with the chain."""

    _next: Callable[[], Awaitable[None]] | None = None

    async def next(self) -> None:
        if self._next is None:
            raise RuntimeError("next() called outside of a hook chain")
        await self._next()


E = TypeVar("E", bound=Event)
Handler = Callable[[E], Awaitable[None]]
_ids = itertools.count(1)


@dataclass
class _Binding(Generic[E]):
    id: int
    handler: Handler[E]
    tags: frozenset[str]  # collection names/ids; empty = every collection
    owner: str = ""  # who registered it (a hooks file), so a reload can remove it


@dataclass
class Hook(Generic[E]):
    """One kind of event and its handlers, run in the order they were bound."""

    name: str
    bindings: list[_Binding[E]] = field(default_factory=list)

    def bind(self, handler: Handler[E], tags: tuple[str, ...] = (), owner: str = "") -> int:
        binding = _Binding(next(_ids), handler, frozenset(tags), owner)
        self.bindings.append(binding)
        return binding.id

    def unbind(self, binding_id: int) -> None:
        self.bindings = [b for b in self.bindings if b.id != binding_id]

    def unbind_owner(self, owner: str) -> None:
        self.bindings = [b for b in self.bindings if b.owner != owner]

    def has_handlers(self, tags: tuple[str, ...] = ()) -> bool:
        return any(not b.tags or b.tags & set(tags) for b in self.bindings)

    async def trigger(
        self, event: E, action: Callable[[E], Awaitable[None]], tags: tuple[str, ...] = ()
    ) -> None:
        """Run the handlers that match ``tags`` around ``action``."""
        handlers = [b.handler for b in self.bindings if not b.tags or b.tags & set(tags)]
        if not handlers:
            await action(event)
            return
        position = -1

        async def next_link() -> None:
            nonlocal position
            position += 1
            if position < len(handlers):
                await handlers[position](event)
            elif position == len(handlers):
                await action(event)

        saved = event._next
        event._next = next_link
        try:
            await next_link()
        finally:
            event._next = saved

    async def notify(self, event: E, tags: tuple[str, ...] = ()) -> None:
        """Run the handlers for an event that has already happened; failures are logged."""

        async def nothing(_: E) -> None:
            return None

        try:
            await self.trigger(event, nothing, tags)
        except Exception:
            log.exception("a %s handler failed", self.name, extra={"hook": self.name})


def decorator(
    hook: Hook[Any], tags: tuple[str, ...], owner: str
) -> Callable[[Handler[Any]], Handler[Any]]:
    def register(handler: Handler[Any]) -> Handler[Any]:
        hook.bind(handler, tags, owner)
        return handler

    return register


class Hooks:
    """Every hook of one app. Services trigger them; ``App`` offers decorators to bind them."""

    def __init__(self) -> None:
        from keelbase import events as ev

        self.record_create: Hook[ev.RecordEvent] = Hook("record_create")
        self.record_update: Hook[ev.RecordEvent] = Hook("record_update")
        self.record_delete: Hook[ev.RecordEvent] = Hook("record_delete")
        self.record_create_commit: Hook[ev.RecordCommitEvent] = Hook("record_create_commit")
        self.record_update_commit: Hook[ev.RecordCommitEvent] = Hook("record_update_commit")
        self.record_delete_commit: Hook[ev.RecordCommitEvent] = Hook("record_delete_commit")
        self.records_list: Hook[ev.ListEvent] = Hook("records_list")
        self.record_view: Hook[ev.ViewEvent] = Hook("record_view")
        self.record_auth: Hook[ev.AuthEvent] = Hook("record_auth")
        self.request: Hook[ev.RequestEvent] = Hook("request")
        self.mail_send: Hook[ev.MailEvent] = Hook("mail_send")
        self.realtime_message: Hook[ev.RealtimeMessageEvent] = Hook("realtime_message")
        self.realtime_subscribe: Hook[ev.RealtimeSubscribeEvent] = Hook("realtime_subscribe")
        self.payment_event: Hook[ev.PaymentEvent] = Hook("payment_event")

    def all(self) -> list[Hook[Any]]:
        return [value for value in vars(self).values() if isinstance(value, Hook)]

    def unbind_owner(self, owner: str) -> None:
        for hook in self.all():
            hook.unbind_owner(owner)
