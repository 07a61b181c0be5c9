"""Enforcing the ``rateLimits`` settings, as PocketBase does.

One rule applies to a request: the first that matches its labels (see
``keelbase.core.rate_limits``) and its audience (guest or signed in). Clients
are told apart by IP only, signed in or not, as in PocketBase. Superusers and
``excludedIPs`` are never limited.

What is counted together:

- collection routes (records CRUD, auth actions, file downloads): per
  collection and action, whatever rule matched, so ``*:create`` gives each
  collection its own allowance; batch sub-requests count apart from direct ones;
- every other route: per rule, so all paths under ``/api/`` share one allowance.

Saving the settings starts every count afresh, as PocketBase's reload does.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import orjson

from keelbase.adapters.counters import Counters, MemoryCounters
from keelbase.core import rate_limits as core
from keelbase.errors import TooManyRequestsError
from keelbase.services.metrics.meter import Meter

if TYPE_CHECKING:
    from keelbase.core.collections.collection import Collection
    from keelbase.core.collections.schema import Schema
    from keelbase.core.records.record import Record
    from keelbase.services.settings import RateLimitRule, Settings, SettingsService

log = logging.getLogger("keelbase.rate_limits")
SUPERUSERS = "_superusers"


class RateLimitService:
    def __init__(
        self,
        settings: SettingsService,
        schema: Callable[[], Schema],
        counters: Counters,
        meter: Meter | None = None,
    ) -> None:
        self.counters = counters
        self.meter = meter or Meter()
        self._schema = schema
        self.enabled = False
        self.trusted_headers: list[str] = []
        self.use_leftmost_ip = False
        self._rules: list[RateLimitRule] = []
        self._excluded: list[core.Network] = []
        self._epoch = ""
        settings.on_change(self.use_settings)

    def use_settings(self, settings: Settings) -> None:
        limits = settings.rateLimits
        self.enabled = limits.enabled
        self._rules = list(limits.rules)
        self._excluded = core.parse_networks(limits.excludedIPs)
        self.trusted_headers = list(settings.trustedProxy.headers)
        self.use_leftmost_ip = settings.trustedProxy.useLeftmostIP
        # shared counters (Redis) start afresh through a new key space; local ones are dropped
        digest = hashlib.sha256(orjson.dumps(limits.model_dump(), option=orjson.OPT_SORT_KEYS))
        epoch = digest.hexdigest()[:12]
        if epoch == self._epoch:  # the same limits loaded again (another node's save, a poll)
            return
        self._epoch = epoch
        if isinstance(self.counters, MemoryCounters):
            self.counters.clear()

    def exempt(self, ip: str, auth: Record | None) -> bool:
        if auth is not None and auth.collection.name == SUPERUSERS:
            return True
        return core.in_networks(ip, self._excluded)

    async def check_request(self, method: str, path: str, ip: str, auth: Record | None) -> None:
        """Raise ``TooManyRequestsError`` when the request is over its rule's allowance."""
        if self.exempt(ip, auth):
            return
        audiences = core.AUTH_AUDIENCES if auth is not None else core.GUEST_AUDIENCES
        action = core.collection_action(method, path)
        if action is None:
            rule = core.find_rule(self._rules, core.default_labels(method, path), audiences)
            if rule is not None:
                await self._take(rule, rule.label + rule.audience, ip)
            return
        collection = self._schema().get(action[0])
        if collection is not None:  # an unknown collection is the route's own 404
            await self._check_collection(collection, action[1], "route", method, path, ip, auth)

    async def check_batch(
        self,
        collection: Collection,
        tag: str,
        method: str,
        path: str,
        ip: str,
        auth: Record | None,
    ) -> None:
        """A batch sub-request's limit: its collection's ``tag`` rule, counted apart."""
        if not self.exempt(ip, auth):
            await self._check_collection(collection, (tag,), "batch", method, path, ip, auth)

    async def _check_collection(
        self,
        collection: Collection,
        tags: tuple[str, ...],
        origin: str,
        method: str,
        path: str,
        ip: str,
        auth: Record | None,
    ) -> None:
        audiences = core.AUTH_AUDIENCES if auth is not None else core.GUEST_AUDIENCES
        labels = core.collection_labels(collection.name, tags, method, path)
        rule = core.find_rule(self._rules, labels, audiences)
        if rule is not None:
            key = f"{collection.id}|{origin}|{'+'.join(tags)}{rule.audience}"
            await self._take(rule, key, ip)

    async def _take(self, rule: RateLimitRule, key: str, ip: str) -> None:
        if not ip:
            return
        try:
            allowed = await self.counters.consume(
                f"rl:{self._epoch}:{key}:{core.limit_key(ip)}", rule.maxRequests, rule.duration
            )
        except Exception:
            # a counter store that is down must not take the whole API with it
            log.exception("rate limit counters unavailable; request let through")
            return
        if not allowed:
            self.meter.rate_limited(rule.label)
            raise TooManyRequestsError()
