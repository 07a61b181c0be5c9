"""The event broker: carries committed record events and custom messages to every node.

In-process by default; Redis pub/sub when several processes or nodes serve one app.
"""

from keelbase.adapters.broker.base import Broker, Handler
from keelbase.adapters.broker.local import LocalBroker

__all__ = ["Broker", "Handler", "LocalBroker"]
