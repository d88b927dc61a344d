"""Conformance suite for Federation Servers and clients."""

__version__ = "0.1.0"
