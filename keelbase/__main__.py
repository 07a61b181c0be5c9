"""``python -m keelbase`` and the ``keelbase`` command.

Python's cycle collector is off while the command starts: importing the server
and building its app make hundreds of thousands of objects and free almost
none, so the collections that would run meanwhile (a full one among them) find
nothing to free and cost a server about a tenth of its start. The command turns
it on again as soon as it has started (``serve``: a second after it listens,
see ``cli.collect_garbage_again``; any other command: before it does its work).
"""

from __future__ import annotations

import gc


def run() -> int:
    gc.disable()
    from keelbase.cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())
