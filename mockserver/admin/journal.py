"""The request journal: a bounded, thread-safe ring of redacted entries, and its filters.

Entries are plain JSON-ready dicts written once by the middleware (already redacted), so a view
never has to think about secrets. When the ring is full the oldest entry goes and `dropped`
counts it, so a long run does not grow without limit.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

DEFAULT_SIZE = 1000


class QueryError(ValueError):
    """A journal filter that cannot be understood; the admin API answers it with 400."""


@dataclass(frozen=True)
class JournalQuery:
    """Which entries to return; every given field must match (AND)."""

    route: str | None = None
    status: str | None = None  # "404", or a class "4xx"
    identity: str | None = None  # subject, issuer or SPIFFE ID
    listener: str | None = None
    method: str | None = None
    path_prefix: str | None = None
    since: float | None = None  # mock-clock seconds, inclusive
    until: float | None = None  # mock-clock seconds, exclusive
    near_miss: bool | None = None
    limit: int | None = None  # the newest N of the matches

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> JournalQuery:
        """Parse query-string or JSON parameters, naming the parameter that is wrong."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise QueryError(
                f"unknown journal filter {unknown[0]!r}; known: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for name, raw in params.items():
            if raw is None or raw == "":
                continue
            if name == "status":
                text = str(raw).lower()
                if not (
                    (text.isdigit() and len(text) == 3)
                    or (len(text) == 3 and text[0].isdigit() and text[1:] == "xx")
                ):
                    raise QueryError(f"status must be a code like 404 or a class like 4xx: {raw!r}")
                values[name] = text
            elif name in ("since", "until"):
                try:
                    values[name] = float(raw)
                except (TypeError, ValueError):
                    raise QueryError(f"{name} must be a number of seconds: {raw!r}") from None
            elif name == "limit":
                try:
                    values[name] = int(raw)
                except (TypeError, ValueError):
                    raise QueryError(f"limit must be a whole number: {raw!r}") from None
                if values[name] < 0:
                    raise QueryError(f"limit must not be negative: {raw!r}")
            elif name == "near_miss":
                text = str(raw).lower()
                if text not in ("true", "false", "1", "0", "yes", "no"):
                    raise QueryError(f"near_miss must be true or false: {raw!r}")
                values[name] = text in ("true", "1", "yes")
            else:
                values[name] = str(raw)
        return cls(**values)

    def matches(self, entry: Mapping[str, Any]) -> bool:
        outcome = entry.get("outcome") or {}
        if self.route is not None and outcome.get("route") != self.route:
            return False
        if self.status is not None:
            status = str((entry.get("response") or {}).get("status", ""))
            if self.status.endswith("xx"):
                if status[:1] != self.status[0]:
                    return False
            elif status != self.status:
                return False
        if self.identity is not None:
            identity = outcome.get("identity") or {}
            peer = (entry.get("tls") or {}).get("spiffe_id")
            if self.identity not in (identity.get("subject"), identity.get("issuer"), peer):
                return False
        if self.listener is not None and entry.get("listener") != self.listener:
            return False
        if self.method is not None and entry.get("method") != self.method.upper():
            return False
        if self.path_prefix is not None and not str(entry.get("path", "")).startswith(
            self.path_prefix
        ):
            return False
        if self.since is not None and entry.get("time", 0) < self.since:
            return False
        if self.until is not None and entry.get("time", 0) >= self.until:
            return False
        return self.near_miss is None or bool(entry.get("near_miss")) == self.near_miss


class Journal:
    """The newest `size` requests, oldest first; ids keep counting across clears."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError(f"journal size must be at least 1, got {size}")
        self._lock = threading.Lock()
        self._entries: deque[Any] = deque(maxlen=size)  # entries, or (id, builder) pending
        self._next_id = 1
        self._dropped = 0

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def add(self, entry: dict[str, Any]) -> int:
        """Store an entry (its `id` is set here) and return the id."""
        return self.add_pending(lambda: entry)

    def add_pending(self, build: Callable[[], dict[str, Any]]) -> int:
        """Reserve the next id for an entry built by `build()` when the journal is first read.

        Building an entry means redacting it; deferring that keeps it off the request path.
        """
        with self._lock:
            entry_id = self._next_id
            self._next_id += 1
            if len(self._entries) == self._entries.maxlen:
                self._dropped += 1
            self._entries.append((entry_id, build))
            return entry_id

    def _settle(self) -> None:
        """Build every pending entry, in order (called with the lock held)."""
        for index, item in enumerate(self._entries):
            if isinstance(item, tuple):
                entry_id, build = item
                entry = build()
                entry["id"] = entry_id
                self._entries[index] = entry

    def entries(self, query: JournalQuery | None = None) -> list[dict[str, Any]]:
        """Matching entries, oldest first (the newest `limit` of them when a limit is given)."""
        with self._lock:
            self._settle()
            snapshot = list(self._entries)
        found = [e for e in snapshot if query is None or query.matches(e)]
        if query is not None and query.limit is not None:
            found = found[len(found) - query.limit :] if query.limit else []
        return found

    def get(self, entry_id: int) -> dict[str, Any] | None:
        with self._lock:
            self._settle()
            return next((e for e in self._entries if e["id"] == entry_id), None)

    def clear(self) -> int:
        """Forget every entry; return how many there were."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            self._dropped = 0
            return count

    def summary(self) -> dict[str, int]:
        with self._lock:
            return {"size": self.size, "count": len(self._entries), "dropped": self._dropped}
