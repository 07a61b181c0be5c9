"""``python -m keelbase`` and the ``keelbase`` command.

Two things make the command start sooner than importing ``keelbase.cli`` would:

- Python's cycle collector is off while the command starts (``collector.py``):
  ``serve`` turns it on a second after its app started, any other command
  before it does its work.
- pydantic looks for plugins in the metadata of every installed package when
  its first model is made (tens of milliseconds in a large environment);
  Keelbase has none, so ``PYDANTIC_DISABLE_PLUGINS`` is ``__all__`` unless the
  environment sets it (an empty value loads them, as pydantic does by default).
"""

from __future__ import annotations

import os

from keelbase import collector


def run() -> int:
    collector.pause()
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from keelbase.cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())
