"""Benchmarks: `make bench` (python -m bench). Speed is measured here, never in tests."""
