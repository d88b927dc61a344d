"""The parts of one mock that the control surface works on, built by `runtime` and handed over.

`MockControl` sees only these types, never `MockServer`, so nothing below `runtime` imports it.
Parts that exist only while the mock runs (clusters, the federation context, URLs) arrive
together in `Running` when it starts.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.admin.clusterfaults import ClusterFaults
from mockserver.admin.faults import ClockGate, FaultSet
from mockserver.admin.journal import Journal
from mockserver.admin.redaction import Redactor
from mockserver.clock import Clock
from mockserver.cluster import FakeCluster
from mockserver.federation.context import FederationContext
from mockserver.federation.modes import Behaviour
from mockserver.keys import SigningKey
from mockserver.state import StateDir


class ErrorLog:
    """Failures inside the mock's threads, kept so the test that caused them can see them."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._lock = threading.Lock()
        self._errors: list[str] = []

    def report(self, error: BaseException, where: str) -> None:
        text = "".join(traceback.format_exception_only(type(error), error)).strip()
        with self._lock:
            self._errors.append(self._redactor.scrub(f"{where}: {text}"))

    def all(self) -> list[str]:
        with self._lock:
            return self._errors.copy()

    def take(self) -> list[str]:
        with self._lock:
            taken, self._errors = self._errors, []
            return taken


@dataclass(frozen=True)
class Initial:
    """What `reset` returns to: quirks, strict mode and clock offset as the mock started."""

    quirks: tuple[str, ...]
    strict: bool
    clock_offset: float


@dataclass
class Running:
    """The parts that exist once the mock has started."""

    clusters: Mapping[str, FakeCluster]
    context: FederationContext
    variables: Mapping[str, str]
    federation_url: str
    initial_keys: dict[str, tuple[list[SigningKey], str]] = field(default_factory=dict)


@dataclass
class MockParts:
    """Everything an admin operation reads or changes; `running` is set by `start()`."""

    journal: Journal
    faults: FaultSet
    cluster_faults: ClusterFaults
    gate: ClockGate
    behaviour: Behaviour
    clock: Clock
    redactor: Redactor
    errors: ErrorLog
    state: StateDir
    initial: Initial
    connection: Callable[[], dict[str, Any]]
    running: Running | None = None
