"""WSGI middleware that journals every federation exchange, outermost around a listener's app.

listener → this middleware → fault injection → federation app. It opens the exchange (routing the
request once for every layer), buffers the body, captures the answer, hands the journal a pending
entry (built and redacted when first read) and delivers the answer, cut short when a fault asked.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from typing import Any

from mockserver.admin.entries import build_entry
from mockserver.admin.exchange import Exchange, open_exchange
from mockserver.admin.faultinjection import WSGIApp, status_line
from mockserver.admin.journal import Journal
from mockserver.admin.redaction import Redactor
from mockserver.clock import Clock
from mockserver.serving import DropConnection

MAX_RECORDED_BODY = (1 << 20) + 1

ErrorSink = Callable[[BaseException, str], None]


class RecordingMiddleware:
    """Records one listener's exchanges in the journal (see the module docstring)."""

    def __init__(
        self,
        app: WSGIApp,
        listener: str,
        *,
        journal: Journal,
        redactor: Redactor,
        clock: Clock,
        on_error: ErrorSink,
    ) -> None:
        self.app = app
        self.listener = listener
        self.journal = journal
        self.redactor = redactor
        self.clock = clock
        self.on_error = on_error

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        ex = open_exchange(environ, self.listener, self.clock.now())
        _buffer_body(ex)
        try:
            self._call_app(ex)
        except DropConnection as drop:
            ex.dropped = ex.dropped or str(drop)
            self._record(ex)
            raise
        return self._answer(ex, start_response)

    def _call_app(self, ex: Exchange) -> None:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: captured.setdefault("written", []).append(data)

        result = self.app(ex.environ, capture)
        try:
            chunks = [*captured.get("written", []), *result]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        ex.status = int(str(captured["status"]).split(None, 1)[0])
        ex.headers = list(captured["headers"])
        ex.response_body = b"".join(chunks)

    def _answer(self, ex: Exchange, start_response: Any) -> Iterable[bytes]:
        status = ex.status or 500
        # A HEAD answer has no body but keeps the length the GET would have (as Go sends it).
        keep = ex.method == "HEAD" and any(k.lower() == "content-length" for k, _ in ex.headers)
        headers = [(k, v) for k, v in ex.headers if keep or k.lower() != "content-length"]
        if not keep:
            headers.append(("Content-Length", str(len(ex.response_body))))
        self._record(ex)
        start_response(status_line(status), headers)
        if not ex.cut_midway:
            return [ex.response_body]
        return _cut(ex.response_body)

    def _record(self, ex: Exchange) -> None:
        """Queue the exchange; the journal builds (and redacts) the entry when it is first
        read, so redaction costs nothing on the request's own path."""
        ex.finished = time.perf_counter()
        # Keep only what an entry is built from: no sockets or streams wait in the journal.
        ex.environ = {k: v for k, v in ex.environ.items() if isinstance(v, str)}

        def build() -> dict[str, Any]:
            try:
                return build_entry(ex, self.redactor)
            except Exception as exc:  # a journal bug must not break anything; surface it instead
                self.on_error(exc, f"recording {ex.method} {ex.raw_path}")
                return {"method": ex.method, "path": ex.raw_path, "error": "entry not recorded"}

        self.journal.add_pending(build)


def _buffer_body(ex: Exchange) -> None:
    """Read the body once (up to the federation limit + 1) and hand the app a copy."""
    environ = ex.environ
    stream = environ.get("wsgi.input")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if stream is None:
        return
    if length:
        ex.body = stream.read(min(length, MAX_RECORDED_BODY))
    elif environ.get("wsgi.input_terminated"):
        ex.body = stream.read(MAX_RECORDED_BODY)
    environ["wsgi.input"] = io.BytesIO(ex.body)


def _cut(body: bytes) -> Iterable[bytes]:
    yield body[: len(body) // 2]
    raise DropConnection("fault drop-mid")
