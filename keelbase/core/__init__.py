"""The domain: collections, fields, records' values, the filter language and rules.

Pure Python, no I/O and no HTTP. Nothing here imports from other Keelbase
packages.
"""
