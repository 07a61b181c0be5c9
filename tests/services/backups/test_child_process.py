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


def test_a_backup_child_runs_only_on_idle_time() -> None:
    """A backup's child takes the CPU and the disk only when nothing else wants them."""
    from keelbase.services.backups.engines import in_child

    policy, nice, ioprio = asyncio.run(in_child(_priorities))
    assert policy == os.SCHED_IDLE
    assert nice == 19
    assert ioprio >> 13 == 3  # the idle I/O class
    # The server's own threads keep their priority.
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
    assert os.getpriority(os.PRIO_PROCESS, 0) < 19


def test_a_restore_child_runs_a_little_below_the_server() -> None:
    """A restore is waited for: lower than the server, yet not only on idle time."""
    from keelbase.services.backups.engines import RESTORE_NICENESS, in_child

    parent = os.getpriority(os.PRIO_PROCESS, 0)
    policy, nice, _ioprio = asyncio.run(in_child(_priorities, idle=False))
    assert policy == os.SCHED_OTHER
    assert nice == min(parent + RESTORE_NICENESS, 19)


def _priorities() -> tuple[int, int, int]:
    """In the child: its scheduling policy, niceness and I/O priority (ioprio_get)."""
    import ctypes

    ioprio = ctypes.CDLL(None, use_errno=True).syscall(252, 1, 0)  # x86_64's ioprio_get
    return os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0), ioprio
