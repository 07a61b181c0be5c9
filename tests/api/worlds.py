"""Worlds at rest (templates), and a fresh running world for every test.

A ``Template`` is a prepared world that is not running: a data folder, on
PostgreSQL a template database, and the tokens and ids its tests use. Each test
starts a world of its own from it (``start``), so it sees nothing another test
did and passes when run alone. A table's template is made once from another
(``extend``), by running the table's setup.

The one exception is a scenario that only reads (GET and HEAD requests, its
``before`` and ``after`` steps too): it changes nothing, so the scenarios of a
table that only read share one running copy of the template (``world_for``).

Copies are cheap, so the suite takes about as long as with one world per
module: on SQLite a copy of the data folder; on PostgreSQL a database from
``DatabaseCopies``, which puts a used copy back as it was rather than copying
the template again.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from keelbase import App, Config
from tests.api.scenario import Scenario, World, run
from tests.pg import DatabaseCopies, copy_database, drop_database

ADMIN = ("admin@example.com", "Passw0rd123")
PASSWORD = "Passw0rd123"

Step = Scenario | Callable[[World], None]
READS = frozenset({"GET", "HEAD"})


def only_reads(scenario: Scenario) -> bool:
    """Whether a scenario, with its ``before`` and ``after`` steps, sends only reads."""
    steps = (scenario, *scenario.before, *scenario.after)
    return all(step.method.upper() in READS for step in steps)


@dataclass
class Template:
    """A world at rest. Made by ``base_template`` or ``extend``, which also clean it up."""

    data_dir: Path
    db_url: str  # "" on SQLite
    tokens: dict[str, str]
    ids: dict[str, str]
    copies: DatabaseCopies | None = field(default=None, repr=False)
    _running: ExitStack = field(default_factory=ExitStack, repr=False)
    _shared: World | None = field(default=None, repr=False)

    def world_for(self, scenario: Any, data_dir: Path) -> AbstractContextManager[World]:
        """A test's world: its own copy, or for a scenario that only reads, the shared one."""
        if not isinstance(scenario, Scenario) or not only_reads(scenario):
            return self.start(data_dir)
        if self._shared is None:
            self._shared = self._running.enter_context(self.start(data_dir.parent / "shared"))
        shared = self._shared
        return nullcontext(World(shared.client, dict(shared.tokens), dict(shared.ids)))

    @contextmanager
    def start(self, data_dir: Path) -> Iterator[World]:
        """A running world of its own in ``data_dir``, as the template was; removed afterwards."""
        shutil.copytree(self.data_dir, data_dir)
        db_url = self.copies.take() if self.copies is not None else ""
        try:
            with _serve(data_dir, db_url) as client:
                yield World(client, dict(self.tokens), dict(self.ids))
        finally:
            if self.copies is not None:
                self.copies.give_back(db_url)
            shutil.rmtree(data_dir, ignore_errors=True)

    @contextmanager
    def extend(self, data_dir: Path, *steps: Step) -> Iterator[Template]:
        """A new template: this one after ``steps`` (scenarios, or functions of a world)."""
        shutil.copytree(self.data_dir, data_dir)
        db_url = copy_database(self.db_url) if self.db_url else ""
        try:
            with _serve(data_dir, db_url) as client:
                world = World(client, dict(self.tokens), dict(self.ids))
                for step in steps:
                    if isinstance(step, Scenario):
                        run(world, step)
                    else:
                        step(world)
            with _at_rest(data_dir, db_url, world.tokens, world.ids) as template:
                yield template
        finally:
            if db_url:
                drop_database(db_url)


@contextmanager
def _serve(data_dir: Path, db_url: str) -> Iterator[TestClient]:
    app = App(Config(data_dir=data_dir, db_url=db_url))
    with TestClient(app.asgi, raise_server_exceptions=False) as client:
        yield client


@contextmanager
def _at_rest(
    data_dir: Path, db_url: str, tokens: dict[str, str], ids: dict[str, str]
) -> Iterator[Template]:
    copies = DatabaseCopies(db_url) if db_url else None
    template = Template(data_dir, db_url, tokens, ids, copies)
    try:
        yield template
    finally:
        template._running.close()
        if copies is not None:
            copies.close()


@contextmanager
def base_template(data_dir: Path, db_url: str = "") -> Iterator[Template]:
    """The world every table starts from: a superuser and two users, all signed in.

    ``db_url`` is an empty PostgreSQL database that becomes the template, or "".
    """

    async def create_superuser() -> None:
        async with App(Config(data_dir=data_dir, db_url=db_url)) as app:
            await app.superusers.upsert(*ADMIN)

    asyncio.run(create_superuser())
    with _serve(data_dir, db_url) as client:
        world = World(client)
        response = client.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": ADMIN[0], "password": ADMIN[1]},
        )
        assert response.status_code == 200, response.text
        world.tokens["superuser"] = response.json()["token"]
        for name in ("user1", "user2"):
            email = f"{name}@example.com"
            created = client.post(
                "/api/collections/users/records",
                json={
                    "email": email,
                    "password": PASSWORD,
                    "passwordConfirm": PASSWORD,
                    "name": name,
                },
            )
            assert created.status_code == 200, created.text
            world.ids[name] = created.json()["id"]
            signed = client.post(
                "/api/collections/users/auth-with-password",
                json={"identity": email, "password": PASSWORD},
            )
            assert signed.status_code == 200, signed.text
            world.tokens[name] = signed.json()["token"]
    with _at_rest(data_dir, db_url, world.tokens, world.ids) as template:
        yield template
