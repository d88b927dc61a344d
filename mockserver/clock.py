"""The one clock of the process.

Token times, projected-volume refresh, cache TTLs, delay faults and daemon refresh all read this
clock, so tests shift it instead of sleeping.
"""

from __future__ import annotations

import threading
import time


class Clock:
    """Wall-clock time plus a shiftable offset, safe to share between threads.

    `generation` counts offset changes, so a cache tagged with it knows when a shift may have
    moved a token past its `exp` (or back before its `nbf`) without comparing times.
    """

    def __init__(self, offset: float = 0.0) -> None:
        self._offset = offset
        self._generation = 0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Current time in seconds since the epoch, offset included."""
        return time.time() + self._offset

    def time(self) -> int:
        """Current time in whole seconds, as JWT claims carry it."""
        return int(self.now())

    @property
    def offset(self) -> float:
        return self._offset

    @property
    def generation(self) -> int:
        """How many times the offset was changed (by `shift`, `set_offset` or `reset`)."""
        return self._generation

    def shift(self, seconds: float) -> float:
        """Move the clock by `seconds` (negative goes back); return the new offset."""
        with self._lock:
            self._offset += seconds
            self._generation += 1
            return self._offset

    def set_offset(self, seconds: float) -> None:
        with self._lock:
            self._offset = seconds
            self._generation += 1

    def reset(self) -> None:
        self.set_offset(0.0)


CLOCK = Clock()
"""The process-wide clock. Components take a `clock` argument that defaults to this one."""
