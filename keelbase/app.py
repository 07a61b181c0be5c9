"""``App`` builds and owns everything one running instance needs.

It is also the public entry point for users who embed Keelbase: build an
``App``, then serve ``app.asgi`` or mount it in another ASGI application.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from starlette.routing import Route

from keelbase.adapters.broker import Broker, LocalBroker
from keelbase.adapters.broker.messages import Dispatcher, SchemaChanged, SettingsChanged, encode
from keelbase.adapters.counters import Counters, MemoryCounters
from keelbase.api.application import KeelbaseApp
from keelbase.config import Config
from keelbase.extending import Extensions
from keelbase.hooks import Hooks
from keelbase.services import system_jobs
from keelbase.services.auth.alerts import AuthAlerts
from keelbase.services.auth.impersonation import ImpersonationService
from keelbase.services.auth.login_guard import LoginGuard
from keelbase.services.auth.mail_flows import AuthMailService
from keelbase.services.auth.oauth2 import OAuth2Service
from keelbase.services.auth.otp import OtpService
from keelbase.services.auth.password import AuthService
from keelbase.services.auth.superuser_ips import SuperuserIPs
from keelbase.services.auth.superusers import SuperusersService
from keelbase.services.collections.service import CollectionsService
from keelbase.services.cron import CronService
from keelbase.services.files.service import FilesService
from keelbase.services.mail.probe import MailProbe
from keelbase.services.mail.sender import Mailer
from keelbase.services.rate_limits import RateLimitService
from keelbase.services.realtime.hub import RealtimeHub
from keelbase.services.records.batch import BatchService
from keelbase.services.records.service import RecordsService
from keelbase.services.settings import SettingsService
from keelbase.services.sql_console import SqlConsole
from keelbase.store.base import Store
from keelbase.store.sqlite import SqliteStore
from keelbase.user_code import Reloader, load_all

log = logging.getLogger("keelbase")
SCHEMA_CHECK_SECONDS = 1.0


class App(Extensions):
    """One running Keelbase: its store, services, hooks, routes and cron jobs."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.hooks = Hooks()
        self.user_routes: list[Route] = []
        self._owner = ""
        self.store = self._store()
        self.files = FilesService(self.config.data_dir / "storage")
        self.collections = CollectionsService(self.store, self.files)
        self.records = RecordsService(self.store, self.collections, self.files, self.hooks)
        self.settings = SettingsService(self.store, self.config.encryption_key())
        self.mailer = Mailer(self.settings, self.hooks)
        self.counters = self._counters()
        # Sign-in and OTP attempts: apart from the rate limits, whose settings reset theirs.
        self.auth_counters = self._counters()
        self.superuser_ips = SuperuserIPs(self.settings)
        self.auth = AuthService(
            self.records,
            self.hooks,
            login_guard=LoginGuard(self.auth_counters),
            alerts=AuthAlerts(self.records, self.mailer, self.settings),
            superuser_ips=self.superuser_ips,
        )
        self.oauth2 = OAuth2Service(self.auth, self.records)
        self.batch = BatchService(self.records, self.settings)
        self.superusers = SuperusersService(self.records)
        self.broker = self._broker()
        self.realtime = RealtimeHub(self.records, self.broker, self.hooks)
        # Every node hears every broker message; each kind has one handler.
        self.messages = Dispatcher()
        self.messages.on(SchemaChanged, lambda _message: self.collections.reload())
        self.messages.on(SettingsChanged, lambda _message: self.settings.load())
        self.realtime.listen(self.messages)
        self.auth_mail = AuthMailService(self.auth, self.mailer, self.settings)
        self.impersonation = ImpersonationService(self.auth_mail, self.hooks)
        self.mail_probe = MailProbe(self.auth_mail)
        self.otp = OtpService(self.auth, self.mailer, self.settings, self.auth_counters)
        self.crons = CronService(self.store)
        self.sql_console = SqlConsole(self.store)
        system_jobs.register(self.crons, self.store, self.records)
        self.rate_limits = RateLimitService(
            self.settings, lambda: self.records.schema, self.counters
        )
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

    def _store(self) -> Store:
        """SQLite in the data folder, or PostgreSQL when ``db_url`` names it."""
        if self.config.uses_postgres:
            from keelbase.store.postgres import PgStore

            return PgStore(
                self.config.db_url, log_sql=self.config.dev, query_timeout=self.config.query_timeout
            )
        return SqliteStore(
            self.config.db_path,
            read_pool_size=self.config.read_pool_size,
            log_sql=self.config.dev,
            query_timeout=self.config.query_timeout,
        )

    def _broker(self) -> Broker:
        if self.config.redis_url:
            from keelbase.adapters.broker.redis import RedisBroker

            return RedisBroker(self.config.redis_url, self.config.redis_channel)
        return LocalBroker()

    def _counters(self) -> Counters:
        """Rate-limit and sign-in counters: in Redis when configured, so all nodes share them."""
        if self.config.redis_url:
            from keelbase.adapters.counters.redis import RedisCounters

            return RedisCounters(self.config.redis_url, f"{self.config.redis_channel}:")
        return MemoryCounters()

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

    @property
    def asgi(self) -> KeelbaseApp:
        if self._asgi is None:
            from keelbase.api.server import build_asgi

            self._asgi = build_asgi(self)
        return self._asgi

    async def start(self) -> None:
        if self.started:
            return
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        await self.store.open()
        try:
            await self.collections.bootstrap()
            await self.settings.load()  # SettingsKeyError: a wrong or missing key
        except BaseException:
            await self.store.close()
            raise
        await self.broker.start(self.messages.dispatch)
        self.crons.start()
        self._watcher = asyncio.create_task(self._watch_schema(), name="keelbase-schema-watch")
        if self.config.dev and self.hooks_dir.is_dir():
            self._reloader = Reloader(self, self.hooks_dir)
            self._reloader.start()
        self.started = True
        if self.config.hint_superuser and await self.superusers.count() == 0:
            log.warning(
                "No superuser yet. Create one with: keelbase superuser upsert EMAIL PASSWORD --dir %s",
                self.config.data_dir,
            )

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
        await self.mailer.close()
        await self.oauth2.close()
        await self.realtime.stop()
        await self.broker.close()
        await self.counters.close()
        await self.auth_counters.close()
        await self.files.close()
        await self.store.close()
        log.info("keelbase stopped cleanly")

    async def __aenter__(self) -> App:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
