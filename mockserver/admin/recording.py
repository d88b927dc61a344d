"""WSGI middleware that journals every federation exchange, outermost around a listener's app.

listener → this middleware → fault injection → federation app. It opens the exchange (routing the
request once for every layer), buffers the body, learns the request's secrets, captures the
answer (learning the secrets it returns), hands the journal a pending entry (built and redacted
when a read first returns it) and delivers the answer, cut short when a fault asked. Only the
first `body_limit` bytes of a body wait in the journal, with the whole body's size and SHA-256.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from typing import Any

from mockserver.admin.bodies import BODY_LIMIT, keep_body
from mockserver.admin.entries import (
    Secret,
    answer_secrets,
    build_entry,
    facts_of,
    learn,
    request_secrets,
    tls_peer,
)
from mockserver.admin.exchange import Exchange, open_exchange
from mockserver.admin.faultinjection import WSGIApp, status_line
from mockserver.admin.journal import Journal
from mockserver.admin.redaction import Redactor
from mockserver.clock import Clock
from mockserver.serving import DropConnection, ServingRefusal

FEDERATION_BODY_CAP = 1 << 20
"""The federation app answers 413 over this; the recorder reads one byte more to let it."""
MAX_RECORDED_BODY = FEDERATION_BODY_CAP + 1

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
        body_limit: int = BODY_LIMIT,
    ) -> None:
        self.app = app
        self.body_limit = body_limit
        self.listener = listener
        self.journal = journal
        self.redactor = redactor
        self.clock = clock
        self.on_error = on_error

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        ex = open_exchange(environ, self.listener, self.clock.now())
        _buffer_body(ex)
        # Learnt before the app runs, so even a line the app logs about this request is clean.
        secrets = request_secrets(ex.environ, ex.body, FEDERATION_BODY_CAP)
        learn(self.redactor, secrets)
        try:
            self._call_app(ex)
        except DropConnection as drop:
            ex.dropped = ex.dropped or str(drop)
            self._record(ex, secrets)
            raise
        return self._answer(ex, start_response, secrets)

    def record_refusal(self, refusal: ServingRefusal) -> None:
        """Journal a request the listener refused before any app ran (bad escape, bad chunk):
        the entry shows the request line, the answer sent and the parser's reason."""
        method, _, rest = refusal.request_line.partition(" ")
        target = rest.rpartition(" ")[0] if " " in rest else rest
        environ: dict[str, Any] = {"REQUEST_METHOD": method, "REQUEST_URI": target or "/"}
        if refusal.head is not None:
            for name, value in refusal.head.headers:
                key = "HTTP_" + name.upper().replace("-", "_")
                environ[key] = f"{environ[key]}, {value}" if key in environ else value
        ex = open_exchange(environ, self.listener, self.clock.now())
        secrets = request_secrets(ex.environ, b"", FEDERATION_BODY_CAP)
        learn(self.redactor, secrets)
        ex.status = refusal.status
        ex.headers, ex.response_body = _split_answer(refusal.answer)
        ex.request.outcome.error = f"refused by the HTTP layer: {refusal.reason}"
        self._record(ex, secrets)

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

    def _answer(self, ex: Exchange, start_response: Any, secrets: list[Secret]) -> Iterable[bytes]:
        status = ex.status or 500
        # A HEAD answer has no body but keeps the length the GET would have (as Go sends it).
        keep = ex.method == "HEAD" and any(k.lower() == "content-length" for k, _ in ex.headers)
        headers = [(k, v) for k, v in ex.headers if keep or k.lower() != "content-length"]
        if not keep:
            headers.append(("Content-Length", str(len(ex.response_body))))
        self._record(ex, secrets)
        start_response(status_line(status), headers)
        if not ex.cut_midway:
            return [ex.response_body]
        return _cut(ex.response_body)

    def _record(self, ex: Exchange, secrets: list[Secret]) -> None:
        """Queue the exchange: O(body) work here (cutting and hashing the body), O(1) under the
        journal's lock; the entry is built and scrubbed when a read first returns it."""
        ex.finished = time.perf_counter()
        secrets = secrets + answer_secrets(ex)
        learn(self.redactor, secrets)  # before the answer, and so the access line, goes out
        kept = keep_body(ex.body, ex.status, _declared_length(ex.environ), self.body_limit)
        ex.body = b""
        # Keep only what an entry is built from: no sockets or streams wait in the journal.
        ex.environ = {k: v for k, v in ex.environ.items() if isinstance(v, str)}
        peer = tls_peer(ex.environ)

        def build() -> dict[str, Any]:
            try:
                return build_entry(ex, self.redactor, kept, peer, secrets)
            except Exception as exc:  # a journal bug must not break anything; surface it instead
                self.on_error(exc, f"recording {ex.method} {ex.raw_path}")
                return {"method": ex.method, "path": ex.raw_path, "error": "entry not recorded"}

        self.journal.add_pending(build, facts_of(ex, peer))


def _split_answer(answer: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """The headers and body of an answer as sent on the wire."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[1:]  # after the status line
    fields = (line.partition(":") for line in lines)
    return [(name.strip(), value.strip()) for name, _, value in fields], body


def _declared_length(environ: dict[str, Any]) -> int | None:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0) or None
    except ValueError:
        return None


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
