"""Use cases: each takes plain values and a ``RequestInfo``, returns plain values or raises ``ApiError``."""
