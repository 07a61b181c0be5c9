"""Request and app logs, kept apart from the app's data and read through ``/api/logs``.

``entry`` is the shape of one entry (PocketBase's), ``store`` the table that
keeps them (``auxiliary.db`` on SQLite, ``_logs`` on PostgreSQL), ``writer`` the
bounded queue that writes them in batches off the request path, ``logger`` the
``app.logger`` of hooks and the bridge from Python's ``logging``, ``requests``
the request observer, ``query`` the filter language over the logs and
``service`` what ties them together for the app and the API.
"""

from keelbase.services.logs.entry import DEBUG, ERROR, INFO, WARN, LogEntry
from keelbase.services.logs.logger import AppLogger
from keelbase.services.logs.service import LogsService

__all__ = ["DEBUG", "ERROR", "INFO", "WARN", "AppLogger", "LogEntry", "LogsService"]
