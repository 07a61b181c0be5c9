"""Nearest-neighbour search over ``vector`` fields, under the list rule."""
