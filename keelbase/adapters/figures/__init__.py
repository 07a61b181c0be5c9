"""Where the health figures' time buckets are added up.

In process by default; in Redis when one is configured, so that every node adds
its counts to the same buckets and any node answers for the whole cluster.
"""

from keelbase.adapters.figures.base import Batch, Buckets
from keelbase.adapters.figures.memory import MemoryBuckets

__all__ = ["Batch", "Buckets", "MemoryBuckets"]
