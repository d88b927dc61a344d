"""The request journal: a bounded, thread-safe ring of redacted entries, and its filters.

Entries are plain JSON-ready dicts, built (and redacted) by the recorder's builder the first time
a read returns them, so a view never has to think about secrets. Filters read each entry's
`EntryFacts`, known at recording, so a read builds only what it returns. When the ring is full
the oldest entry goes and `dropped` counts it, so a long run does not grow without limit.
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

    def matches(self, facts: EntryFacts) -> bool:
        """Whether an entry with these facts is wanted (read without building the entry)."""
        if self.route is not None and facts.route != self.route:
            return False
        if self.status is not None:
            status = "" if facts.status is None else str(facts.status)
            if self.status.endswith("xx"):
                if status[:1] != self.status[0]:
                    return False
            elif status != self.status:
                return False
        if self.identity is not None and self.identity not in facts.identities:
            return False
        if self.listener is not None and facts.listener != self.listener:
            return False
        if self.method is not None and facts.method != self.method.upper():
            return False
        if self.path_prefix is not None and not facts.path.startswith(self.path_prefix):
            return False
        if self.since is not None and facts.time < self.since:
            return False
        if self.until is not None and facts.time >= self.until:
            return False
        return self.near_miss is None or facts.near_miss == self.near_miss


@dataclass(frozen=True)
class EntryFacts:
    """What the filters read, known when an exchange is recorded: a read filters on these and
    builds (and scrubs) only the entries it returns."""

    time: float
    listener: str
    method: str
    path: str
    route: str | None
    status: int | None
    identities: frozenset[str]
    """Subject, issuer and peer SPIFFE ID, whichever are known."""
    near_miss: bool

    @classmethod
    def of_entry(cls, entry: Mapping[str, Any]) -> EntryFacts:
        """The facts of an already built entry."""
        outcome = entry.get("outcome") or {}
        identity = entry.get("identity") or outcome.get("identity") or {}
        peer = (entry.get("tls") or {}).get("spiffe_id")
        status = (entry.get("response") or {}).get("status")
        return cls(
            time=float(entry.get("time", 0)),
            listener=str(entry.get("listener", "")),
            method=str(entry.get("method", "")),
            path=str(entry.get("path", "")),
            route=entry.get("route") or outcome.get("route"),
            status=None if status is None else int(status),
            identities=frozenset(
                str(v) for v in (identity.get("subject"), identity.get("issuer"), peer) if v
            ),
            near_miss=bool(entry.get("near_miss")),
        )


Builder = Callable[[], dict[str, Any]]


class _Slot:
    """One journal place: an entry, or the builder that makes it on first read (once, even
    when two readers want it at the same time)."""

    __slots__ = ("_build", "_entry", "_lock", "entry_id", "facts")

    def __init__(self, entry_id: int, facts: EntryFacts, build: Builder) -> None:
        self.entry_id = entry_id
        self.facts = facts
        self._build: Builder | None = build
        self._entry: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def entry(self) -> dict[str, Any]:
        entry = self._entry
        if entry is not None:
            return entry
        with self._lock:
            if self._entry is None:
                assert self._build is not None
                built = self._build()
                built["id"] = self.entry_id
                self._entry, self._build = built, None  # the exchange is let go once built
            return self._entry


class Journal:
    """The newest `size` requests, oldest first; ids keep counting across clears.

    The lock guards only the ring itself: recording appends one slot, a read copies the slot
    references. Building and scrubbing happen outside it, so a read over large entries never
    holds up a request being recorded.
    """

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError(f"journal size must be at least 1, got {size}")
        self._lock = threading.Lock()
        self._slots: deque[_Slot] = deque(maxlen=size)
        self._next_id = 1
        self._dropped = 0

    @property
    def size(self) -> int:
        return self._slots.maxlen or 0

    def add(self, entry: dict[str, Any]) -> int:
        """Store a built entry (its `id` is set here) and return the id."""
        return self.add_pending(lambda: entry, EntryFacts.of_entry(entry))

    def add_pending(self, build: Builder, facts: EntryFacts) -> int:
        """Reserve the next id for an entry `build()` makes when a read first returns it."""
        with self._lock:
            entry_id = self._next_id
            self._next_id += 1
            if len(self._slots) == self._slots.maxlen:
                self._dropped += 1
            self._slots.append(_Slot(entry_id, facts, build))
            return entry_id

    def entries(self, query: JournalQuery | None = None) -> list[dict[str, Any]]:
        """Matching entries, oldest first (the newest `limit` of them when a limit is given);
        only those are built."""
        with self._lock:
            slots = list(self._slots)
        chosen = [s for s in slots if query is None or query.matches(s.facts)]
        if query is not None and query.limit is not None:
            chosen = chosen[len(chosen) - query.limit :] if query.limit else []
        return [slot.entry() for slot in chosen]

    def get(self, entry_id: int) -> dict[str, Any] | None:
        with self._lock:
            first = self._slots[0].entry_id if self._slots else entry_id + 1
            index = entry_id - first
            slot = self._slots[index] if 0 <= index < len(self._slots) else None
        return None if slot is None else slot.entry()

    def clear(self) -> int:
        """Forget every entry; return how many there were."""
        with self._lock:
            count = len(self._slots)
            self._slots.clear()
            self._dropped = 0
            return count

    def summary(self) -> dict[str, int]:
        with self._lock:
            return {"size": self.size, "count": len(self._slots), "dropped": self._dropped}
