"""Offline mock of the External Secrets Enterprise Federation Server, with fake clusters."""

__version__ = "0.1.0"
