"""Who is present on realtime topics: in memory for one process, in Redis for several."""

from keelbase.adapters.presence.base import PresenceStore
from keelbase.adapters.presence.memory import MemoryPresence

__all__ = ["MemoryPresence", "PresenceStore"]
