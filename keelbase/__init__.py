"""Keelbase: an app backend in one Python process that speaks PocketBase's Web API."""

from keelbase.app import App
from keelbase.config import Config
from keelbase.errors import ApiError

__version__ = "0.1.0"

__all__ = ["ApiError", "App", "Config", "__version__"]
