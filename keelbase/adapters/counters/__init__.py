"""Counters for rate limits and failed sign-ins.

In-process by default; in Redis when one is configured, so that every node
counts against the same limit.
"""

from keelbase.adapters.counters.base import Counters
from keelbase.adapters.counters.memory import MemoryCounters

__all__ = ["Counters", "MemoryCounters"]
