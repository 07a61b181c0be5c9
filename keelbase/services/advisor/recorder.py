"""The slow list queries this node has run, counted per shape, in bounded memory.

Per node and in memory only: it starts empty at each start. Each shape keeps
its most recent concrete filter too, so that the advisor can time a real
query; that example never leaves the process (answers show the shape only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keelbase.core.advisor.shapes import Shape, normalise_filter, normalise_sort

DEFAULT_SLOW_MS = 5.0
DEFAULT_MAX_SHAPES = 200


@dataclass
class ShapeStats:
    shape: Shape
    count: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    example_filter: str = field(default="", repr=False)
    example_sort: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "filter": self.shape.filter,
            "sort": self.shape.sort,
            "rule": self.shape.rule,
            "count": self.count,
            "totalMs": round(self.total_ms, 3),
            "maxMs": round(self.max_ms, 3),
            "avgMs": round(self.total_ms / self.count, 3) if self.count else 0.0,
        }


class ShapeRecorder:
    """Keeps at most ``max_shapes`` shapes; a new one pushes out the least total time."""

    def __init__(
        self, slow_ms: float = DEFAULT_SLOW_MS, max_shapes: int = DEFAULT_MAX_SHAPES
    ) -> None:
        self.slow_ms = slow_ms
        self.max_shapes = max_shapes
        self._shapes: dict[Shape, ShapeStats] = {}

    def record(
        self, collection_id: str, filter_text: str, sort: str, rule: str, seconds: float
    ) -> None:
        ms = seconds * 1000
        if ms < self.slow_ms:
            return
        shape = Shape(
            collection_id,
            normalise_filter(filter_text),
            normalise_sort(sort),
            normalise_filter(rule),
        )
        stats = self._shapes.get(shape)
        if stats is None:
            if len(self._shapes) >= self.max_shapes:
                least = min(self._shapes.values(), key=lambda s: s.total_ms)
                if least.total_ms > ms:
                    return  # a one-off is not worth more than the shapes already kept
                del self._shapes[least.shape]
            stats = self._shapes[shape] = ShapeStats(shape)
        stats.count += 1
        stats.total_ms += ms
        stats.max_ms = max(stats.max_ms, ms)
        stats.example_filter = filter_text
        stats.example_sort = sort

    def top(self, limit: int) -> list[ShapeStats]:
        """The shapes that cost the most time in all, first."""
        return sorted(self._shapes.values(), key=lambda s: s.total_ms, reverse=True)[:limit]

    def forget(self, shape: Shape) -> None:
        self._shapes.pop(shape, None)

    def clear(self) -> None:
        self._shapes.clear()
