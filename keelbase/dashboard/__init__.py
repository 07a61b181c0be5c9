"""The built admin dashboard (``dist/``), shipped in the wheel as package data.

The source lives in ``dashboard/`` at the repository root; ``make dashboard``
builds it here. A checkout that never built it has no ``dist/``, and the
server then answers ``/_/`` with a page saying how to build it.
"""

from pathlib import Path

DIST = Path(__file__).parent / "dist"
