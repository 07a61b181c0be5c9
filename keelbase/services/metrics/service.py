"""Metrics on and off with the settings; the scrape and the superuser's health figures.

While ``metrics.enabled`` is off nothing is measured for Prometheus: the request
observer is not installed, the store is not timed, services' reports stop at
one check, and ``prometheus_client`` is not imported. The health figures are
always counted (a few increments per request), since the dashboard draws them.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from keelbase.adapters.figures import Buckets
from keelbase.core.request_outcome import RequestObserver
from keelbase.services.metrics.health import HealthFigures
from keelbase.services.metrics.meter import Meter
from keelbase.store.base import Store

if TYPE_CHECKING:
    from keelbase.services.metrics.prometheus import Instruments
    from keelbase.services.settings import Settings

log = logging.getLogger("keelbase.metrics")


class MetricsService:
    def __init__(
        self,
        store: Store,
        meter: Meter,
        buckets: Buckets,
        *,
        version: str,
        store_kind: str,
        redis_configured: bool,
        realtime_connections: Callable[[], int],
    ) -> None:
        self.store = store
        self.meter = meter
        self.buckets = buckets
        self.figures = HealthFigures(buckets)
        self.version = version
        self.store_kind = store_kind
        self.redis_configured = redis_configured
        self._connections = realtime_connections
        self.started = time.time()
        self.enabled = False
        self._token = ""
        self._instruments: Instruments | None = None
        self._request_metrics: RequestObserver | None = None
        self._listeners: list[Callable[[RequestObserver | None], None]] = []

    # Settings ------------------------------------------------------------------

    def use_settings(self, settings: Settings) -> None:
        self._token = settings.metrics.token
        enabled = settings.metrics.enabled
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if enabled:
            if self._instruments is None:
                from keelbase.services.metrics.prometheus import Instruments
                from keelbase.services.metrics.requests import RequestMetrics

                self._instruments = Instruments()
                self._request_metrics = RequestMetrics(self._instruments)
            self.meter.instruments = self._instruments
            self.store.timing = self.meter
            self.meter.realtime_connections(self._connections())
        else:
            self.meter.instruments = None
            self.store.timing = None
        for listener in self._listeners:
            listener(self.request_observer)

    @property
    def request_observer(self) -> RequestObserver | None:
        """The Prometheus request observer while metrics are on."""
        return self._request_metrics if self.enabled else None

    def on_observer_change(self, listener: Callable[[RequestObserver | None], None]) -> None:
        """Call ``listener`` with the request observer (or ``None``) whenever metrics turn on or off."""
        self._listeners.append(listener)

    def token_matches(self, token: str) -> bool:
        return bool(self._token) and hmac.compare_digest(token.encode(), self._token.encode())

    # Answers -------------------------------------------------------------------

    def scrape(self) -> bytes:
        """The text exposition (call only while enabled)."""
        assert self._instruments is not None
        self.meter.realtime_connections(self._connections())
        return self._instruments.scrape()

    async def health(self) -> dict[str, Any]:
        """What superusers see besides PocketBase's fields in ``/api/health``."""
        redis: dict[str, Any] = {"configured": self.redis_configured, "reachable": None}
        if self.redis_configured:
            redis["reachable"] = await self.buckets.ping()
        try:
            windows: dict[str, Any] | None = await self.figures.windows()
        except Exception:  # Redis down: the rest of the answer still helps
            log.warning("reading the health figures failed", exc_info=True)
            windows = None
        return {
            "uptime": round(time.time() - self.started, 3),
            "version": self.version,
            "store": self.store_kind,
            "redis": redis,
            "requests": windows,
        }

    # Lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        self.figures.start()

    async def stop(self) -> None:
        await self.figures.stop()
        if self._instruments is not None:
            self._instruments.close()
        await self.buckets.close()
