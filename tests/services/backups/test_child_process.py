"""A backup's child process ends with the server that started it, never as an orphan."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SERVER = """
import sys, time
from keelbase.services.backups.engines import _run_in_child
_run_in_child(time.sleep, 120)
"""


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_the_child_ends_when_its_server_is_killed() -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER], cwd=Path(__file__).parents[3])
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline and not workers:
            # the pool's worker: a child of the server running Python (not the resource tracker)
            workers = [p for p in _children(server.pid) if b"multiprocessing" in
                       (Path("/proc") / str(p) / "cmdline").read_bytes() and
                       b"resource_tracker" not in (Path("/proc") / str(p) / "cmdline").read_bytes()]  # fmt: skip
            time.sleep(0.2)
        assert workers, "the child never started"
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers), "the child outlived its server"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_the_child_is_born_at_a_lower_priority() -> None:
    """The child yields the CPU to the server from its start; the server's threads
    keep their priority."""
    from keelbase.services.backups.engines import CHILD_NICENESS, in_child

    parent = os.getpriority(os.PRIO_PROCESS, 0)
    child = asyncio.run(in_child(os.getpriority, os.PRIO_PROCESS, 0))
    assert child == min(parent + CHILD_NICENESS, 19)
    assert os.getpriority(os.PRIO_PROCESS, 0) == parent
