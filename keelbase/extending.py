"""The public API for the user's own code: hooks, routes, cron jobs and record helpers.

``App`` inherits it. Everything registered while a hooks file is being set up
is tagged with that file (``registering``), so ``unregister`` can remove it
again for a reload.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from keelbase.core.records.record import Record
from keelbase.core.request_info import SYSTEM, RequestInfo
from keelbase.errors import NotFoundError
from keelbase.hooks import Handler, Hook, Hooks, decorator
from keelbase.services.records.listing import ListParams
from keelbase.store.base import Connection

if TYPE_CHECKING:
    from starlette.routing import Route

    from keelbase.api.user_routes import RouteHandler
    from keelbase.services.cron import CronService, JobFunction
    from keelbase.services.realtime.hub import RealtimeHub
    from keelbase.services.records.service import RecordsService
    from keelbase.store.base import Store

Decorator = Callable[[Handler[Any]], Handler[Any]]


class Extensions:
    hooks: Hooks
    records: RecordsService
    realtime: RealtimeHub
    crons: CronService
    store: Store
    user_routes: list[Route]
    _owner: str

    # Registration ------------------------------------------------------------

    @contextmanager
    def registering(self, owner: str) -> Iterator[None]:
        saved, self._owner = self._owner, owner
        try:
            yield
        finally:
            self._owner = saved

    def unregister(self, owner: str) -> None:
        """Remove every hook, route and cron job that ``owner`` registered."""
        self.hooks.unbind_owner(owner)
        self.crons.remove_owner(owner)
        for route in [r for r in self.user_routes if getattr(r, "keelbase_owner", "") == owner]:
            self.remove_route(route)

    def _bind(self, hook: Hook[Any], collections: tuple[str, ...]) -> Decorator:
        return decorator(hook, collections, self._owner)

    # Hooks (decorators; collections narrow them, none means all) --------------

    def on_record_create(self, *collections: str) -> Decorator:
        """Around creating a record, inside its transaction (``RecordEvent``)."""
        return self._bind(self.hooks.record_create, collections)

    def on_record_update(self, *collections: str) -> Decorator:
        return self._bind(self.hooks.record_update, collections)

    def on_record_delete(self, *collections: str) -> Decorator:
        return self._bind(self.hooks.record_delete, collections)

    def on_record_after_create(self, *collections: str) -> Decorator:
        """After a create has been committed (``RecordCommitEvent``); errors are only logged."""
        return self._bind(self.hooks.record_create_commit, collections)

    def on_record_after_update(self, *collections: str) -> Decorator:
        return self._bind(self.hooks.record_update_commit, collections)

    def on_record_after_delete(self, *collections: str) -> Decorator:
        return self._bind(self.hooks.record_delete_commit, collections)

    def on_records_list(self, *collections: str) -> Decorator:
        return self._bind(self.hooks.records_list, collections)

    def on_record_view(self, *collections: str) -> Decorator:
        return self._bind(self.hooks.record_view, collections)

    def on_record_auth(self, *collections: str) -> Decorator:
        return self._bind(self.hooks.record_auth, collections)

    def on_request(self) -> Decorator:
        """Around every HTTP request (``RequestEvent``)."""
        return self._bind(self.hooks.request, ())

    def on_mail_send(self) -> Decorator:
        return self._bind(self.hooks.mail_send, ())

    def on_realtime_message(self) -> Decorator:
        return self._bind(self.hooks.realtime_message, ())

    def on_realtime_subscribe(self) -> Decorator:
        return self._bind(self.hooks.realtime_subscribe, ())

    def on_payment_event(self, *types: str) -> Decorator:
        """Around applying each verified Stripe event (``PaymentEvent``), exactly once;
        event types (``"invoice.paid"``) narrow it, none means every event."""
        return self._bind(self.hooks.payment_event, types)

    # Routes and cron ---------------------------------------------------------

    def route(
        self, path: str, methods: list[str] | None = None
    ) -> Callable[[RouteHandler], RouteHandler]:
        """A custom HTTP route: ``@app.route("/api/hello", methods=["GET"])``."""
        from keelbase.api.user_routes import make_route

        def register(handler: RouteHandler) -> RouteHandler:
            route = make_route(self, path, handler, methods or ["GET"])  # type: ignore[arg-type]
            route.keelbase_owner = self._owner  # type: ignore[attr-defined]
            self.add_route(route)
            return handler

        return register

    def add_route(self, route: Route) -> None:
        self.user_routes.append(route)
        self._mount_route(route)

    def remove_route(self, route: Route) -> None:
        self.user_routes.remove(route)
        self._unmount_route(route)

    def _mount_route(self, route: Route) -> None:
        """Overridden by App once its ASGI app exists."""

    def _unmount_route(self, route: Route) -> None:
        """Overridden by App once its ASGI app exists."""

    def cron(self, name: str, expression: str, function: JobFunction) -> None:
        """``app.cron("cleanup", "0 3 * * *", fn)``: run ``fn`` on that schedule, once per tick."""
        self.crons.add(name, expression, function, self._owner)

    # Records, for server code (rules do not apply unless ``info`` says whose request it is)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """Everything inside commits together; record helpers called inside join it."""
        async with self.store.transaction() as conn:
            yield conn

    async def find_record(
        self, collection: str, record_id: str, info: RequestInfo | None = None
    ) -> Record | None:
        target = self.records.collection(collection)
        if info is None:
            return await self.records.find_by_id(target, record_id)
        return await self.records.find_with_rule(target, record_id, target.viewRule, info)

    async def find_records(
        self,
        collection: str,
        filter: str = "",
        params: dict[str, Any] | None = None,
        sort: str = "",
        limit: int = 100,
        info: RequestInfo | None = None,
    ) -> list[dict[str, Any]]:
        """Records as the API would list them (``{:name}`` placeholders are bound from ``params``)."""
        target = self.records.collection(collection)
        page = ListParams(
            per_page=limit, sort=sort, filter=filter, skip_total=True, filter_params=params or {}
        )
        result = await self.records.list_page(target, page, info or SYSTEM)
        items: list[dict[str, Any]] = result["items"]
        return items

    async def create_record(
        self, collection: str, data: dict[str, Any], info: RequestInfo | None = None
    ) -> Record:
        return await self.records.create_record(
            self.records.collection(collection), data, info or SYSTEM
        )

    async def update_record(
        self, collection: str, record_id: str, data: dict[str, Any], info: RequestInfo | None = None
    ) -> Record:
        return await self.records.update_record(
            self.records.collection(collection), record_id, data, info or SYSTEM
        )

    async def delete_record(
        self, collection: str, record_id: str, info: RequestInfo | None = None
    ) -> None:
        target = self.records.collection(collection)
        if info is not None:
            await self.records.delete(target, record_id, info)
            return
        async with self.store.transaction() as conn:
            record = await self.records.find_by_id(target, record_id)
            if record is None:
                raise NotFoundError()
            await self.records.delete_record(conn, record)

    async def publish(self, topic: str, data: Any) -> None:
        """Send a realtime message to the clients subscribed to the custom ``topic``."""
        await self.realtime.publish(topic, data)
