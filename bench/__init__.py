"""Benchmarks and measurements, run by hand (never as timed tests)."""
