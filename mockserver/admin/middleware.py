"""The admin layer around one federation listener: journal recording outside, faults inside.

listener → `RecordingMiddleware` (recording.py: routes once, records, delivers) →
`FaultMiddleware` (faultinjection.py: applies the matching rule) → federation app.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from mockserver.admin.faultinjection import FaultMiddleware, WSGIApp
from mockserver.admin.faults import ClockGate, FaultSet
from mockserver.admin.journal import Journal
from mockserver.admin.recording import ErrorSink, RecordingMiddleware
from mockserver.admin.redaction import Redactor
from mockserver.clock import Clock
from mockserver.serving import ServingRefusal

__all__ = ["JournalMiddleware"]


class JournalMiddleware:
    """Both middlewares around one listener's federation app, in their one order."""

    def __init__(
        self,
        app: WSGIApp,
        listener: str,
        *,
        journal: Journal,
        redactor: Redactor,
        faults: FaultSet,
        gate: ClockGate,
        clock: Clock,
        stopping: threading.Event,
        on_error: ErrorSink,
    ) -> None:
        self.app = app
        self.listener = listener
        faulty = FaultMiddleware(
            app, listener, faults=faults, gate=gate, clock=clock, stopping=stopping
        )
        self._outer = RecordingMiddleware(
            faulty, listener, journal=journal, redactor=redactor, clock=clock, on_error=on_error
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self._outer(environ, start_response)

    def record_refusal(self, refusal: ServingRefusal) -> None:
        """The listener's hook for requests it refused before any app ran."""
        self._outer.record_refusal(refusal)
