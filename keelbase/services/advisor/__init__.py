"""The index advisor: slow list queries' shapes, and the indexes that would serve them."""
