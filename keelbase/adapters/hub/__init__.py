"""The local hub: what Redis gives several workers of one ``keelbase serve``, without Redis.

``keelbase serve --workers N`` (N > 1, no ``--redis``) runs a ``HubServer`` in
its supervisor process, on a Unix socket in a private folder; each worker's
``App`` holds one ``HubClient`` connection to it, which the hub adapters
(``adapters/{broker,counters,presence,figures}/hub.py``) share. The hub
broadcasts broker messages to every worker (the sender too, as Redis
pub/sub does) and keeps the counters, presence entries and figure buckets
in its own memory, one operation at a time, so each is atomic across workers.
"""

from keelbase.adapters.hub.client import HubClient, HubUnavailable
from keelbase.adapters.hub.server import HubServer, HubThread

__all__ = ["HubClient", "HubServer", "HubThread", "HubUnavailable"]
