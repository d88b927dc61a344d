"""Offline mock of the External Secrets Enterprise Federation Server and fake Kubernetes clusters."""

__version__ = "0.1.0"
