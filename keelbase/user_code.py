"""Loading the user's Python hooks from ``kb_hooks/`` beside the data folder.

Every ``*.py`` there (in name order) must define ``setup(app)``, which binds
hooks, routes and cron jobs. Everything a file registers is tagged with the
file, so ``--dev`` can reload one file by removing its registrations and
running it again. A file that fails to import or set up stops the start, with
its traceback: a half-configured server never starts.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keelbase.app import App

log = logging.getLogger("keelbase.hooks")


class HooksError(Exception):
    """A hooks file that cannot be loaded; the message holds its traceback."""


def hook_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith(("_", ".")))


def load_file(app: App, path: Path) -> None:
    owner = str(path.resolve())
    module_name = f"kb_hooks_{path.stem}_{abs(hash(owner))}"
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise HooksError(f"{path}: cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        setup = getattr(module, "setup", None)
        if not callable(setup):
            raise HooksError(f"{path}: defines no setup(app) function")
        with app.registering(owner):
            setup(app)
    except HooksError:
        app.unregister(owner)
        raise
    except Exception as error:
        app.unregister(owner)
        raise HooksError(f"{path} failed to load:\n{traceback.format_exc()}") from error


def load_all(app: App, folder: Path) -> list[Path]:
    files = hook_files(folder)
    for path in files:
        load_file(app, path)
        log.info("loaded hooks from %s", path)
    return files


class Reloader:
    """``--dev``: reload a hooks file when it changes. A broken edit unloads that file and
    logs its traceback until it is fixed; the other files keep working."""

    def __init__(self, app: App, folder: Path, interval: float = 1.0) -> None:
        self.app = app
        self.folder = folder
        self.interval = interval
        self._seen = self._stamps()
        self._task: asyncio.Task[None] | None = None

    def _stamps(self) -> dict[Path, float]:
        return {path: path.stat().st_mtime for path in hook_files(self.folder)}

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="keelbase-hooks-reloader")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            current = self._stamps()
            if current == self._seen:
                continue
            for path in set(self._seen) - set(current):
                self.app.unregister(str(path.resolve()))
                log.info("unloaded hooks from %s (file removed)", path)
            for path, stamp in current.items():
                if self._seen.get(path) == stamp:
                    continue
                owner = str(path.resolve())
                self.app.unregister(owner)
                try:
                    load_file(self.app, path)
                    log.info("reloaded hooks from %s", path)
                except HooksError as error:
                    log.error("%s", error)
            self._seen = current
