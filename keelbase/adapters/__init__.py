"""The outside world behind small interfaces: blob storage (and later broker, mail, payments)."""
