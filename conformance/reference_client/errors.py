"""The two ways a run fails: a bad command line (exit 2) or a failed fetch or delivery (exit 1)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127


class UsageError(Exception):
    """The flags cannot work together; nothing was sent."""


class ClientError(Exception):
    """A fetch or a delivery failed. The message is safe to print: no token, no secret value."""
