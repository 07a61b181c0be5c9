"""Backups: PocketBase's backups API on an engine that never stops writers.

``names`` (name rules), ``archive`` (the zip, its manifest and its check),
``engines`` (a consistent snapshot and an atomic replace per store),
``service`` (create, list, restore, the automatic backups).
"""
