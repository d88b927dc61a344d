"""What the journal keeps of a request body: at most `BODY_LIMIT` bytes, plus the whole body's
size and SHA-256, so a long body costs the journal a bounded amount of memory and scrubbing.

A body the federation app refused as too large (413) is not kept at all: the mock never read
all of it, so only the length the client declared is recorded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

BODY_LIMIT = 64 << 10
"""Bytes of a request body kept per journal entry (the client suite judges bodies from the
journal, and real request bodies are a few KiB)."""


@dataclass(frozen=True)
class KeptBody:
    """The part of a body an entry shows, and what identifies the whole of it."""

    data: bytes
    size: int
    sha256: str | None
    """Hex SHA-256 of the whole body; None when the body was refused unread."""
    cut: bool
    """The entry shows less than the client sent."""

    def fields(self) -> dict[str, object]:
        """The entry members that describe the body beside its text."""
        return {"body_size": self.size, "body_sha256": self.sha256, "body_cut": self.cut}


def keep_body(body: bytes, status: int | None, declared: int | None, limit: int) -> KeptBody:
    """The kept part of `body`; `declared` is the request's Content-Length, if it had one."""
    if status == 413:
        return KeptBody(b"", max(declared or 0, len(body)), None, True)
    digest = hashlib.sha256(body).hexdigest()
    return KeptBody(body[:limit], len(body), digest, len(body) > limit)
