"""``App`` builds and owns everything one running instance needs.

It is also the public entry point for users who embed Keelbase: build an
``App``, then serve ``app.asgi`` or mount it in another ASGI application.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.routing import Route

from keelbase.adapters.broker import Broker, LocalBroker
from keelbase.adapters.broker.messages import Dispatcher, SchemaChanged, SettingsChanged, encode
from keelbase.adapters.counters import Counters, MemoryCounters
from keelbase.adapters.figures import Buckets, MemoryBuckets
from keelbase.adapters.presence import MemoryPresence, PresenceStore
from keelbase.api.application import KeelbaseApp
from keelbase.config import Config
from keelbase.core.collections.payments import CUSTOMERS
from keelbase.core.dates import now_string
from keelbase.core.request_info import SYSTEM, RequestInfo
from keelbase.extending import Extensions
from keelbase.hooks import Hooks
from keelbase.services import system_jobs
from keelbase.services.auth.installer import Installer
from keelbase.services.auth.login_guard import LoginGuard
from keelbase.services.auth.otp import OtpService
from keelbase.services.auth.password import AuthService
from keelbase.services.auth.superuser_ips import SuperuserIPs
from keelbase.services.auth.superusers import SuperusersService
from keelbase.services.backups.service import BackupsService
from keelbase.services.collections.service import CollectionsService
from keelbase.services.cron import CronService
from keelbase.services.files.service import FilesService
from keelbase.services.logs import AppLogger, LogsService
from keelbase.services.logs.store import POSTGRES_SCHEMA, SQLITE_SCHEMA
from keelbase.services.mail.sender import Mailer
from keelbase.services.metrics.meter import Meter
from keelbase.services.metrics.service import MetricsService
from keelbase.services.migrations.runner import MigrationsRunner
from keelbase.services.push.subscriptions import POSTGRES_SCHEMA as PUSH_PG
from keelbase.services.push.subscriptions import SQLITE_SCHEMA as PUSH_SQLITE
from keelbase.services.push.subscriptions import PushSubscriptions
from keelbase.services.rate_limits import RateLimitService
from keelbase.services.realtime.hub import RealtimeHub
from keelbase.services.records.batch import BatchService
from keelbase.services.records.service import RecordsService
from keelbase.services.settings import SettingsService
from keelbase.services.transfer.pocketbase import refuse_pocketbase_folder
from keelbase.services.webhooks import WebhooksService
from keelbase.services.webhooks.outbox import POSTGRES_SCHEMA as WEBHOOKS_PG
from keelbase.services.webhooks.outbox import SQLITE_SCHEMA as WEBHOOKS_SQLITE
from keelbase.store import system
from keelbase.store.base import Store
from keelbase.store.sqlite import SqliteStore
from keelbase.user_code import Reloader, load_all

if TYPE_CHECKING:
    from keelbase.adapters.hub.client import HubClient
    from keelbase.adapters.tracing import Tracing
    from keelbase.core.collections.collection import Collection
    from keelbase.core.records.record import Record
    from keelbase.services.advisor.service import AdvisorService
    from keelbase.services.auth.alerts import AuthAlerts
    from keelbase.services.auth.impersonation import ImpersonationService
    from keelbase.services.auth.mail_flows import AuthMailService
    from keelbase.services.auth.oauth2 import OAuth2Service
    from keelbase.services.backups.engines import Engine
    from keelbase.services.collections.changes import SchemaChange
    from keelbase.services.mail.probe import MailProbe
    from keelbase.services.migrations.automigrate import AutoMigrate
    from keelbase.services.openapi import OpenApiService
    from keelbase.services.payments.service import PaymentsService
    from keelbase.services.push.service import PushService
    from keelbase.services.records.aggregate import Aggregator
    from keelbase.services.sql_console import SqlConsole
    from keelbase.services.sync.service import SyncService
    from keelbase.services.vectors.service import VectorSearch
    from keelbase.store.base import Connection

log = logging.getLogger("keelbase")
SCHEMA_CHECK_SECONDS = 1.0
AUXILIARY_DB = "auxiliary.db"


class App(Extensions):
    """One running Keelbase: its store, services, hooks, routes and cron jobs."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.hooks = Hooks()
        self.user_routes: list[Route] = []
        self._owner = ""
        self.error_tracking = self._start_error_tracking()
        self.store = self._store()
        # What services report for Prometheus; inert until ``metrics.enabled``.
        self.meter = Meter()
        # OpenTelemetry's provider when ``config.tracing``; the store's statements become spans.
        self.tracing = self._start_tracing()
        self.files = FilesService(self.config.data_dir / "storage")
        encryption_key = self.config.encryption_key()
        self.collections = CollectionsService(self.store, self.files, encryption_key)
        self.records = RecordsService(self.store, self.collections, self.files, self.hooks)
        self.settings = SettingsService(self.store, encryption_key)
        self.mailer = Mailer(self.settings, self.hooks, self.meter)
        # The workers of one ``keelbase serve`` without Redis share through the local hub.
        self.hub = self._hub()
        if self.hub is not None and isinstance(self.store, SqliteStore):
            self.store.turns = self.hub  # write turns handed over in order, not polled for
        self.counters = self._counters("limits")
        # Sign-in and OTP attempts: apart from the rate limits, whose settings reset theirs.
        self.auth_counters = self._counters("auth")
        self.superuser_ips = SuperuserIPs(self.settings)
        self.auth = AuthService(
            self.records,
            self.hooks,
            login_guard=LoginGuard(self.auth_counters),
            alerts=_SignInAlerts(self),
            superuser_ips=self.superuser_ips,
        )
        self.batch = BatchService(self.records, self.settings)
        self.superusers = SuperusersService(self.records)
        self.installer = Installer(self.superusers)
        self.broker = self._broker()
        self.realtime = RealtimeHub(
            self.records, self.broker, self.hooks, self.meter, self._presence()
        )
        self.realtime.replay.max_bytes = self.config.realtime_replay_bytes
        # Every node hears every broker message; each kind has one handler.
        self.messages = Dispatcher()
        self.messages.on(SchemaChanged, lambda _message: self.collections.reload())
        self.messages.on(SettingsChanged, lambda _message: self.settings.load())
        self.realtime.listen(self.messages)
        # Web Push (``app.push``, built on first use): its rules hear every record event.
        self.records.on_event(self._push_forget_deleted_owner)
        self.records.on_event(self._push_record_event)
        # Outbound webhooks: ``/api/webhooks``, ``app.webhooks.emit(name, payload)`` from hooks.
        self.webhooks = WebhooksService(
            self.records,
            WEBHOOKS_PG if self.config.uses_postgres else WEBHOOKS_SQLITE,
            self._alert_superusers,
        )
        self.otp = OtpService(self.auth, self.mailer, self.settings, self.auth_counters)
        self.crons = CronService(self.store, meter=self.meter)
        self.logs = self._logs()
        # for hook code: app.logger.info("message", key=value)
        self.logger: AppLogger = self.logs.logger
        # Timed lists are the index advisor's input from the start (built at the first one).
        self.records.on_list_timed(self._list_timed)
        system_jobs.register(self.crons, self.store, self.records)
        # Sync's change log records every write from the start (built at the first one).
        self.records.on_written(self._sync_written)
        self.collections.on_saved(self._sync_schema_saved)
        self.crons.add("__kbSyncPrune__", "15 * * * *", self._sync_prune, system_jobs.SYSTEM_OWNER)
        self.rate_limits = RateLimitService(
            self.settings, lambda: self.records.schema, self.counters, self.meter
        )
        self.metrics = self._metrics()
        self.settings.on_change(self.metrics.use_settings)
        self.migrations = MigrationsRunner(
            self.store, self.collections, self.config.resolved_migrations_dir, self
        )
        if self.config.automigrates:
            self.collections.on_saved(self._automigrate)
        # The migrations this start applied (``apply_migrations``), for ``serve`` to list.
        self.applied_at_start: list[str] = []
        self.backups = BackupsService(
            self.config.data_dir,
            self._backup_engine,
            self.settings,
            self.crons,
            self._reload_restored,
            self._alert_superusers,
        )
        self.settings.on_change(self.backups.apply_settings)
        # Stripe (``app.payments``, built on first use): a deleted user's subscriptions go.
        self.records.on_delete(self._payments_owner_deleted)
        self.settings.on_write(self._payments_settings_saved)
        self._automigrator: AutoMigrate | None = None
        self._reloader: Reloader | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.collections.on_change(lambda _schema: self.store.forget_statements())
        self.records.on_auth_change(self.auth.forget)
        self.collections.on_change(lambda _schema: self.auth.forget_all())
        self.settings.on_change(lambda settings: self.files.use_settings(settings.s3))
        self.collections.on_write(lambda: self.broker.publish(encode(SchemaChanged())))
        self.settings.on_write(lambda: self.broker.publish(encode(SettingsChanged())))
        self._asgi: KeelbaseApp | None = None
        self.started = False

    # Services that nothing at start needs are built, and their modules imported, on first
    # use (a route, a hook): a start imports less. Each is the same object from then on.
    @functools.cached_property
    def oauth2(self) -> OAuth2Service:
        from keelbase.services.auth.oauth2 import OAuth2Service

        return OAuth2Service(self.auth, self.records)

    @functools.cached_property
    def sql_console(self) -> SqlConsole:
        from keelbase.services.sql_console import SqlConsole

        return SqlConsole(self.store)

    @functools.cached_property
    def vectors(self) -> VectorSearch:
        from keelbase.services.vectors.service import VectorSearch

        return VectorSearch(self.records, self.config.vector_cache_mb << 20)

    @functools.cached_property
    def openapi(self) -> OpenApiService:
        from keelbase.services.openapi import OpenApiService

        return OpenApiService(lambda: self.collections.schema, _package_version())

    @functools.cached_property
    def aggregates(self) -> Aggregator:
        """Counts and sums (``GET .../aggregate``, ``App.aggregate``)."""
        from keelbase.services.records.aggregate import Aggregator

        return Aggregator(self.store, lambda: self.records.schema)

    @functools.cached_property
    def auth_mail(self) -> AuthMailService:
        from keelbase.services.auth.mail_flows import AuthMailService

        return AuthMailService(self.auth, self.mailer, self.settings)

    @functools.cached_property
    def impersonation(self) -> ImpersonationService:
        from keelbase.services.auth.impersonation import ImpersonationService

        return ImpersonationService(self.auth_mail, self.hooks)

    @functools.cached_property
    def mail_probe(self) -> MailProbe:
        from keelbase.services.mail.probe import MailProbe

        return MailProbe(self.auth_mail)

    @functools.cached_property
    def auth_alerts(self) -> AuthAlerts:
        """The new-location mails of sign-ins (``AuthService`` calls it through ``_SignInAlerts``)."""
        from keelbase.services.auth.alerts import AuthAlerts

        return AuthAlerts(self.records, self.mailer, self.settings)

    @functools.cached_property
    def advisor(self) -> AdvisorService:
        from keelbase.services.advisor.service import AdvisorService

        return AdvisorService(self.store, self.records, self.collections, listen=False)

    def _list_timed(
        self, collection: Collection, filter_text: str, sort: str, rule: str, seconds: float
    ) -> None:
        self.advisor.timed(collection, filter_text, sort, rule, seconds)

    @functools.cached_property
    def sync(self) -> SyncService:
        from keelbase.services.sync.service import SyncService

        return SyncService(self.records, self.config.sync_window, listen=False)

    async def _sync_written(
        self, conn: Connection, collection: Collection, record_id: str, action: str,
        record: Record | None,
    ) -> None:  # fmt: skip
        await self.sync.log.write(conn, collection, record_id, action, record)

    async def _sync_schema_saved(self, conn: Connection, change: SchemaChange) -> None:
        await self.sync.on_schema_saved(conn, change)

    async def _sync_prune(self) -> None:
        await self.sync.prune_job()

    async def _automigrate(self, conn: Connection, change: SchemaChange) -> None:
        """Write a migration file for a collection change (``config.automigrates``)."""
        if self._automigrator is None:
            from keelbase.services.migrations.automigrate import AutoMigrate

            self._automigrator = AutoMigrate(self.migrations.folder)
        await self._automigrator.record(conn, change)

    @property
    def _push_schema(self) -> list[str]:
        return PUSH_PG if self.config.uses_postgres else PUSH_SQLITE

    @functools.cached_property
    def push(self) -> PushService:
        """Web Push: ``app.push.send(user, payload)`` from hooks and routes."""
        from keelbase.services.push.service import PushService

        return PushService(
            self.store,
            self._push_schema,
            self.records,
            lambda: self.settings.current.meta.senderAddress,
            self.settings.encryption_key,
            listen=False,
        )

    async def _push_forget_deleted_owner(self, action: str, record: Record) -> None:
        await self.push.forget_deleted_owner(action, record)

    async def _push_record_event(self, action: str, record: Record) -> None:
        await self.push.on_record_event(action, record)

    @functools.cached_property
    def payments(self) -> PaymentsService:
        """Stripe: checkout, portal, webhooks (``app.payments.checkout(...)`` from a custom route)."""
        from keelbase.services.payments.service import PaymentsService

        return PaymentsService(
            self.records,
            self.collections,
            self.settings,
            self.hooks,
            lambda: self.config.origins,
            listen=False,
        )

    async def _payments_owner_deleted(self, conn: Connection, owner: Record, depth: int) -> None:
        # Without the customers collection no owner has anything to cancel or delete.
        if "payments" in self.__dict__ or self.records.schema.get(CUSTOMERS) is not None:
            await self.payments.owner_deleted(conn, owner, depth)

    async def _payments_settings_saved(self) -> None:
        """Create the payments collections once Stripe is configured."""
        if self.settings.current.payments.stripe.secretKey:  # else ensure_collections does nothing
            await self.payments.ensure_collections()

    def _store(self) -> Store:
        """SQLite in the data folder, or PostgreSQL when ``db_url`` names it."""
        if self.config.uses_postgres:
            from keelbase.store.postgres import PgStore

            return PgStore(
                self.config.db_url,
                log_sql=self.config.dev,
                query_timeout=self.config.query_timeout,
                durability=self.config.durability,
            )
        return SqliteStore(
            self.config.db_path,
            read_pool_size=self.config.read_pool_size,
            log_sql=self.config.dev,
            query_timeout=self.config.query_timeout,
            durability=self.config.durability,
            shared=self.config.shares_sqlite,
        )

    def _logs(self) -> LogsService:
        """Logs in ``auxiliary.db`` beside ``data.db``, or in a table of the PostgreSQL database."""
        if self.config.uses_postgres:
            return LogsService(
                self.store,
                POSTGRES_SCHEMA,
                owns_store=False,
                settings=self.settings,
                resolve_auth=self.auth.record_from_token,
            )
        auxiliary = SqliteStore(
            self.config.data_dir / AUXILIARY_DB,
            read_pool_size=2,
            durability=self.config.durability,
            shared=self.config.shares_sqlite,
        )
        auxiliary.turns = self.hub
        return LogsService(
            auxiliary,
            SQLITE_SCHEMA,
            owns_store=True,
            settings=self.settings,
            resolve_auth=self.auth.record_from_token,
        )

    def _start_error_tracking(self) -> bool:
        """Sentry, set up before anything can fail; the SDK is imported only when wanted."""
        if not self.config.sentry_dsn:
            return False
        from keelbase import __version__
        from keelbase.adapters.sentry import start_sentry

        start_sentry(
            self.config.sentry_dsn,
            pii=self.config.sentry_pii,
            environment=self.config.sentry_environment,
            version=__version__,
        )
        return True

    def _start_tracing(self) -> Tracing | None:
        if not self.config.tracing:
            return None
        from keelbase import __version__
        from keelbase.adapters.tracing import Tracing

        tracing = Tracing(__version__)
        self.store.tracer = tracing.sql_spans(self.store.dialect.name)
        return tracing

    def _backup_engine(self) -> Engine:
        """How backups snapshot and restore this app's store (made at the first of either)."""
        if self.config.uses_postgres:
            from keelbase.services.backups.engines import PostgresEngine
            from keelbase.store.postgres import PgStore

            assert isinstance(self.store, PgStore)
            return PostgresEngine(self.store)
        from keelbase.services.backups.engines import SqliteEngine

        assert isinstance(self.store, SqliteStore)
        return SqliteEngine(self.store)

    async def _reload_restored(self) -> None:
        """After a restore: count a schema change, reload, check the restored app, tell the others.

        The schema version is counted up so that nodes without a broker notice
        too. The check is the restored app's health check: its schema and
        settings load, and one record of every collection reads and decodes
        with them. The other nodes are told only once it passed (a failure
        puts the data back and reloads again, which tells them then).
        """
        async with self.store.transaction() as conn:
            await system.bump_schema_version(conn, now_string())
        await self.collections.reload()
        await self.settings.load()
        await self.superusers.count()
        for collection in self.records.schema:
            await self.records.find_by_filter(collection, "id != ''", limit=1)
        await self.broker.publish(encode(SchemaChanged()))
        await self.broker.publish(encode(SettingsChanged()))

    async def _alert_superusers(self, subject: str, text: str) -> None:
        """Mail every superuser (used when an automatic backup fails)."""
        found = await self.records.find_by_filter(self.superusers.collection, "id != ''")
        emails = [str(r.get("email")) for r in found if r.get("email")]
        if emails:
            html = "<p>" + text.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>")
            await self.mailer.send(emails, subject, html + "</p>", text)

    def _hub(self) -> HubClient | None:
        """The connection to the local hub: with ``hub_socket`` and no Redis (which wins)."""
        if self.config.redis_url or not self.config.hub_socket:
            return None
        from keelbase.adapters.hub.client import HubClient

        return HubClient(self.config.hub_socket, self.config.hub_supervisor)

    def _broker(self) -> Broker:
        """Redis when configured (nodes and workers), else the local hub (workers), else in-process."""
        if self.config.redis_url:
            from keelbase.adapters.broker.redis import RedisBroker

            return RedisBroker(self.config.redis_url, self.config.redis_channel)
        if self.hub is not None:
            from keelbase.adapters.broker.hub import HubBroker

            return HubBroker(self.hub)
        return LocalBroker()

    def _presence(self) -> PresenceStore:
        """Realtime presence: in Redis or the hub when there, so all nodes see who is where."""
        if self.config.redis_url:
            from keelbase.adapters.presence.redis import RedisPresence

            return RedisPresence(self.config.redis_url, f"{self.config.redis_channel}:")
        if self.hub is not None:
            from keelbase.adapters.presence.hub import HubPresence

            return HubPresence(self.hub)
        return MemoryPresence()

    def _counters(self, space: str) -> Counters:
        """Rate-limit and sign-in counters: in Redis or the hub when there, so all share them."""
        if self.config.redis_url:
            from keelbase.adapters.counters.redis import RedisCounters

            return RedisCounters(self.config.redis_url, f"{self.config.redis_channel}:")
        if self.hub is not None:
            from keelbase.adapters.counters.hub import HubCounters

            return HubCounters(self.hub, space)
        return MemoryCounters()

    def _metrics(self) -> MetricsService:
        from keelbase import __version__

        buckets: Buckets = MemoryBuckets()
        if self.config.redis_url:
            from keelbase.adapters.figures.redis import RedisBuckets

            # the same buckets for every node of this app (apps on one Redis differ by channel)
            buckets = RedisBuckets(self.config.redis_url, f"{self.config.redis_channel}:figures:")
        elif self.hub is not None:
            from keelbase.adapters.figures.hub import HubBuckets

            buckets = HubBuckets(self.hub)
        return MetricsService(
            self.store,
            self.meter,
            buckets,
            version=__version__,
            store_kind="postgres" if self.config.uses_postgres else "sqlite",
            redis_configured=bool(self.config.redis_url),
            realtime_connections=lambda: len(self.realtime.clients),
        )

    async def _watch_schema(self) -> None:
        """Notice within a second when another process on the database changed collections or settings.

        The broker tells other nodes at once; this check also covers nodes without
        one (several processes on one SQLite file) and a missed message.
        """
        while True:
            await asyncio.sleep(SCHEMA_CHECK_SECONDS)
            try:
                await self.collections.reload_if_changed()
                await self.settings.reload_if_changed()
            except Exception:
                log.exception("checking the schema version failed")

    @property
    def hooks_dir(self) -> Path:
        """``--hooksDir``, else ``kb_hooks`` beside the data folder."""
        if self.config.hooks_dir is not None:
            return self.config.hooks_dir
        return self.config.data_dir.resolve().parent / "kb_hooks"

    def load_hooks(self) -> list[Path]:
        """Import the user's hooks files now; raises ``HooksError`` with the traceback."""
        return load_all(self, self.hooks_dir)

    def _mount_route(self, route: Route) -> None:
        if self._asgi is not None:
            from keelbase.api.server import insert_user_route, with_request_hooks

            mounted = with_request_hooks(self, route)
            route.keelbase_mounted = mounted  # type: ignore[attr-defined]
            insert_user_route(self._asgi, mounted)

    def _unmount_route(self, route: Route) -> None:
        if self._asgi is None:
            return
        routes = self._asgi.router.routes
        for candidate in (getattr(route, "keelbase_mounted", None), route):
            if candidate in routes:
                routes.remove(candidate)
        # routes built into the app at start carry the owner tag on their wrapped copy
        owner = getattr(route, "keelbase_owner", "")
        path = route.path
        routes[:] = [
            r
            for r in routes
            if not (
                getattr(r, "keelbase_owner", None) == owner
                and owner
                and getattr(r, "path", None) == path
            )
        ]

    async def aggregate(
        self,
        collection: str,
        *,
        group_by: Sequence[str] = (),
        sum: Sequence[str] = (),
        avg: Sequence[str] = (),
        min: Sequence[str] = (),
        max: Sequence[str] = (),
        filter: str = "",
        params: dict[str, Any] | None = None,
        sort: str = "",
        limit: int = 100,
        info: RequestInfo = SYSTEM,
    ) -> dict[str, Any]:
        """Counts and sums for server code, as ``GET .../aggregate`` (docs/aggregates.md).

        Without ``info`` no rule applies (as ``find_by_filter``); with a caller's
        ``info`` the collection's list rule does. ``{:name}`` in ``filter`` is bound
        from ``params``.
        """
        from keelbase.services.records.aggregate import AggregateParams

        query = AggregateParams(
            group_by=tuple(group_by),
            sum=tuple(sum),
            avg=tuple(avg),
            min=tuple(min),
            max=tuple(max),
            filter=filter,
            sort=sort,
            limit=limit,
            filter_params=params,
        )
        return await self.aggregates.aggregate(self.records.collection(collection), query, info)

    @property
    def asgi(self) -> KeelbaseApp:
        if self._asgi is None:
            from keelbase.api.server import build_asgi

            self._asgi = build_asgi(self)
        return self._asgi

    async def start(self) -> None:
        if self.started:
            return
        if not self.config.uses_postgres:
            # PocketBase's own folder is never changed behind its back: keelbase migrate copies it.
            refuse_pocketbase_folder(self.config.data_dir)
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        await self.store.open()
        broker_started = False
        try:
            await self.collections.bootstrap()
            # Before migrations or anything else writes records: writes fill the outbox.
            await self.webhooks.create_tables()
            await self.settings.load()
            await asyncio.to_thread(self.backups.forget_leftovers)
            await self.broker.start(self.messages.dispatch)
            broker_started = True
            # Before anything serves or runs on a schedule: all of it may expect the new schema.
            if self.config.apply_migrations:
                self.applied_at_start = await self.migrations.up()
            await self._payments_settings_saved()
        except BaseException:
            if broker_started:
                await self.broker.close()
            await self.store.close()
            raise
        await self.logs.start(self.crons)
        # The subscriptions table, as ``push.start`` makes it (the service waits for its use).
        await PushSubscriptions(self.store, self._push_schema).create_table()
        self.webhooks.start()
        self.metrics.start()
        self.crons.start()
        self._watcher = asyncio.create_task(self._watch_schema(), name="keelbase-schema-watch")
        if self.config.dev and self.hooks_dir.is_dir():
            self._reloader = Reloader(self, self.hooks_dir)
            self._reloader.start()
        self.started = True
        if self.config.hint_superuser:
            await self._announce_installer()

    async def _announce_installer(self) -> None:
        """With no superuser yet, print the one-time link that creates the first one."""
        token = await self.installer.issue()
        if token is None:
            return
        host, _, port = self.config.http.rpartition(":")
        if self.config.domains:  # the certificate is for the domain, not for an address
            host = self.config.domains[0]
        elif host in ("", "0.0.0.0", "::", "[::]"):
            host = "127.0.0.1"
        scheme = "https" if self.config.https else "http"
        base = f"{scheme}://{host}" + ("" if (scheme, port) == ("https", "443") else f":{port}")
        log.warning(
            "No superuser yet. Open this link within an hour to create the first one: "
            "%s/_/#/install/%s (or run: keelbase superuser upsert EMAIL PASSWORD --dir %s)",
            base, token, self.config.data_dir,
        )  # fmt: skip

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        if self._reloader is not None:
            await self._reloader.stop()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await self.crons.stop()
        await self.metrics.stop()
        await self.mailer.close()
        if "oauth2" in self.__dict__:  # built (its HTTP client opened) by a sign-in
            await self.oauth2.close()
        await self.realtime.stop()
        if "push" in self.__dict__:  # built by a record event, a route or a hook
            await self.push.stop()
        await self.webhooks.stop()
        await self.broker.close()
        await self.counters.close()
        await self.auth_counters.close()
        await self.files.close()
        await self.logs.stop()
        await self.store.close()
        if self.tracing is not None:
            await asyncio.to_thread(self.tracing.flush)
        if self.error_tracking:
            from keelbase.adapters.sentry import flush

            await asyncio.to_thread(flush)
        log.info("keelbase stopped cleanly")

    async def __aenter__(self) -> App:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class _SignInAlerts:
    """What ``AuthService`` calls after each sign-in: ``App.auth_alerts``, built at the first."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def signed_in(self, record: Record, info: RequestInfo, method: str) -> None:
        await self._app.auth_alerts.signed_in(record, info, method)


def _package_version() -> str:
    from keelbase import __version__

    return __version__
