"""The migration files of a folder: their names, their order, and loading one.

A migration is a Python file named ``TIMESTAMP_name.py`` (``1733250000_add_tags.py``)
that defines ``up(app)`` and, to be revertible, ``down(app)``. Files are applied
in the order of their timestamps (then names). Files whose names start with
``_`` or ``.`` are helpers and are not migrations; any other ``.py`` file with
a different name is refused, so a misnamed migration is never skipped quietly.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

NAME = re.compile(r"^(\d+)_(\w+)\.py$", re.ASCII)

MigrationFunction = Callable[[Any], Any]


class MigrationError(Exception):
    """A migration that cannot be loaded, applied or reverted; the message says which and why."""


@dataclass(frozen=True)
class Migration:
    """A loaded migration file."""

    file: str
    path: Path
    up: MigrationFunction
    down: MigrationFunction | None


def sort_key(file: str) -> tuple[int, str]:
    match = NAME.match(file)
    return (int(match.group(1)) if match else 0, file)


def migration_files(folder: Path) -> list[Path]:
    """The migration files of ``folder`` in the order they apply (none when it does not exist)."""
    if not folder.is_dir():
        return []
    found: list[Path] = []
    for path in folder.glob("*.py"):
        if path.name.startswith(("_", ".")):
            continue
        if not NAME.match(path.name):
            raise MigrationError(
                f"{path}: a migration file is named TIMESTAMP_name.py "
                "(helpers start with an underscore)"
            )
        found.append(path)
    return sorted(found, key=lambda p: sort_key(p.name))


def load(path: Path) -> Migration:
    """Import one migration file; any failure is a ``MigrationError`` with the traceback."""
    module_name = f"kb_migration_{path.stem}_{time.monotonic_ns()}"
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise MigrationError(f"{path.name}: cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        finally:
            sys.modules.pop(module_name, None)
    except MigrationError:
        raise
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        raise MigrationError(
            f"{path.name} cannot be loaded:\n{traceback.format_exc().rstrip()}"
        ) from error
    up = _function(module, "up")
    if up is None:
        raise MigrationError(f"{path.name} defines no up(app) function")
    return Migration(path.name, path, up, _function(module, "down"))


def _function(module: ModuleType, name: str) -> MigrationFunction | None:
    value = getattr(module, name, None)
    return value if callable(value) else None


def unused_timestamp(folder: Path) -> int:
    """Now in Unix seconds, or one past the newest file's timestamp if that is later.

    Two changes in one second still get names in the order they were made.
    """
    newest = 0
    if folder.is_dir():
        for path in folder.glob("*.py"):
            match = NAME.match(path.name)
            if match:
                newest = max(newest, int(match.group(1)))
    return max(int(time.time()), newest + 1)


def file_stem(text: str) -> str:
    """``text`` as the name part of a file name: lower snake case, ASCII word characters.

    A name ending in ``test`` gets an extra ``_``, so test runners do not collect
    the file as a test module (as PocketBase does for Go).
    """
    stem = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_")
    stem = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", stem).lower()
    if stem.endswith("test"):
        stem += "_"
    return stem


def write_new(folder: Path, stem: str, text: str) -> Path:
    """Write a new migration file ``TIMESTAMP_stem.py`` (atomically: never half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    timestamp = unused_timestamp(folder)
    path = folder / f"{timestamp}_{stem}.py"
    while path.exists():
        timestamp += 1
        path = folder / f"{timestamp}_{stem}.py"
    partial = folder / f".{path.name}.partial"
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path
