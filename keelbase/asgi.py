"""ASGI entry points for servers that import the app by name (``uvicorn --workers``)."""

from __future__ import annotations

import logging
import os

from keelbase.api.application import KeelbaseApp
from keelbase.app import App
from keelbase.config import Config
from keelbase.log_format import TEXT_FORMAT


def from_environment() -> KeelbaseApp:
    """Each worker process builds its own ``App`` from the configuration the CLI left in the environment."""
    raw = os.environ.get("KEELBASE_CONFIG_JSON")
    config = Config.model_validate_json(raw) if raw else Config()
    if not logging.getLogger().handlers:
        # uvicorn set up only its own loggers in this worker (the text format): Keelbase's
        # warnings reach stderr as in a single process, not only the logs table.
        logging.basicConfig(level="DEBUG" if config.dev else "INFO", format=TEXT_FORMAT)
    app = App(config)
    app.load_hooks()
    return app.asgi
