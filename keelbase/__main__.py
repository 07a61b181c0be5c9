"""``python -m keelbase`` and the ``keelbase`` command.

Two things make the command start sooner than importing ``keelbase.cli`` would:

- Python's cycle collector is off while the command starts: importing the server
  and building its app make hundreds of thousands of objects and free almost
  none, so the collections that would run meanwhile (a full one among them)
  find nothing to free and cost a server about a tenth of its start. The command
  turns it on again once it has started (``serve``: a second after it listens,
  see ``cli.collect_garbage_again``; any other command: before it does its work).
- pydantic looks for plugins in the metadata of every installed package when
  its first model is made (tens of milliseconds in a large environment);
  Keelbase has none, so ``PYDANTIC_DISABLE_PLUGINS`` is ``__all__`` unless the
  environment sets it (an empty value loads them, as pydantic does by default).
"""

from __future__ import annotations

import gc
import os


def run() -> int:
    gc.disable()
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from keelbase.cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())
