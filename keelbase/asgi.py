"""ASGI entry points for servers that import the app by name (``uvicorn --workers``)."""

from __future__ import annotations

import os

from keelbase.api.application import KeelbaseApp
from keelbase.app import App
from keelbase.config import Config


def from_environment() -> KeelbaseApp:
    """Each worker process builds its own ``App`` from the configuration the CLI left in the environment."""
    raw = os.environ.get("KEELBASE_CONFIG_JSON")
    config = Config.model_validate_json(raw) if raw else Config()
    app = App(config)
    app.load_hooks()
    return app.asgi
