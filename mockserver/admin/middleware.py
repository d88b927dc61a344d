"""WSGI middleware around each federation listener: run faults, then journal the exchange.

listener → this middleware (faults, recording, redaction) → federation app. The federation app
writes what it decided into `environ["esi.outcome"]`; this layer adds the request as sent, the
response as answered, the fault that fired and a near miss, redacts all of it and stores it.
"""

from __future__ import annotations

import base64
import io
import json
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from mockserver.admin.faults import ClockGate, FaultSet, Firing
from mockserver.admin.journal import Journal
from mockserver.admin.nearmiss import explain_route_miss
from mockserver.admin.redaction import Redactor, fingerprint
from mockserver.clock import Clock
from mockserver.federation.authn import spiffe_id_of
from mockserver.federation.routing import R1, R2, find_route, routing_path, split_target
from mockserver.gojson import go_json
from mockserver.serving import DropConnection

OUTCOME_KEY = "esi.outcome"
MAX_RECORDED_BODY = (1 << 20) + 1
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "x-workload-token", "cookie")

ErrorSink = Callable[[BaseException, str], None]


class Exchange:
    """One request as the middleware collects it, before it becomes a journal entry."""

    def __init__(self, environ: dict[str, Any], listener: str, now: float) -> None:
        self.environ = environ
        self.listener = listener
        self.time = now
        self.started = time.perf_counter()
        self.method = environ.get("REQUEST_METHOD", "")
        self.raw_path, self.query = split_target(
            environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        )
        self.body = b""
        self.route: str | None = None
        self.firing: Firing | None = None
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.response_body = b""
        self.dropped: str | None = None
        self.finished: float | None = None


class JournalMiddleware:
    """Wraps one federation listener's WSGI app (see the module docstring)."""

    def __init__(
        self,
        app: Any,
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
        self.journal = journal
        self.redactor = redactor
        self.faults = faults
        self.gate = gate
        self.clock = clock
        self.stopping = stopping
        self.on_error = on_error

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        ex = Exchange(environ, self.listener, self.clock.now())
        self._buffer_body(ex)
        ex.route = _route_of(ex.method, ex.raw_path)
        ex.firing = self.faults.pick(self.listener, ex.method, ex.raw_path, ex.route)
        rule = ex.firing.rule if ex.firing else None
        if rule is not None:
            if not self._wait(ex, rule):
                self._record(ex)
                raise DropConnection(ex.dropped or "fault")
            if rule.action == "drop-before":
                ex.dropped = "fault drop-before: closed before any response"
                self._record(ex)
                raise DropConnection(ex.dropped)
            if rule.action == "status":
                self._fault_response(ex, rule)
                return self._answer(ex, start_response)
        try:
            self._call_app(ex)
        except DropConnection as drop:
            ex.dropped = str(drop)
            self._record(ex)
            raise
        if rule is not None:
            self._mangle(ex, rule.action or "")
        return self._answer(ex, start_response)

    # -- request side ----------------------------------------------------------------------------

    def _buffer_body(self, ex: Exchange) -> None:
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

    def _wait(self, ex: Exchange, rule: Any) -> bool:
        """Delays and hangs; False when the request must end without an answer."""
        if rule.delay is not None and not self.gate.wait_until(
            self.clock.now() + rule.delay, self.stopping.is_set
        ):
            ex.dropped = "mock stopped during a clock delay"
            return False
        if rule.delay_ms is not None and self.stopping.wait(rule.delay_ms / 1000):
            ex.dropped = "mock stopped during a delay"
            return False
        if rule.action == "hang":
            sock = ex.environ.get("werkzeug.socket")
            while not self.stopping.wait(0.05):
                if sock is None or _peer_closed(sock):
                    break
            ex.dropped = "fault hang: never answered"
            return False
        return True

    # -- response side ---------------------------------------------------------------------------

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

    def _fault_response(self, ex: Exchange, rule: Any) -> None:
        ex.status = rule.status
        if rule.body is not None:
            ex.response_body = rule.body.encode()
        else:
            ex.response_body = go_json(_status_line(rule.status).split(" ", 1)[1])
        ex.headers = [("Content-Type", rule.content_type or "application/json")]
        ex.headers += list(rule.headers.items())

    def _mangle(self, ex: Exchange, action: str) -> None:
        if action == "malformed-json":
            body = ex.response_body
            ex.response_body = body[: max(1, len(body) // 2)] if body else b'{"'
        elif action == "wrong-content-type":
            ex.headers = [(k, v) for k, v in ex.headers if k.lower() != "content-type"]
            ex.headers.append(("Content-Type", "text/html; charset=utf-8"))

    def _answer(self, ex: Exchange, start_response: Any) -> Iterable[bytes]:
        status = ex.status or 500
        # A HEAD answer has no body but keeps the length the GET would have (as Go sends it).
        keep = ex.method == "HEAD" and any(k.lower() == "content-length" for k, _ in ex.headers)
        headers = [(k, v) for k, v in ex.headers if keep or k.lower() != "content-length"]
        if not keep:
            headers.append(("Content-Length", str(len(ex.response_body))))
        drop_mid = ex.firing is not None and ex.firing.rule.action == "drop-mid"
        if drop_mid:
            ex.dropped = "fault drop-mid: closed after the headers and half the body"
        self._record(ex)
        start_response(_status_line(status), headers)
        if not drop_mid:
            return [ex.response_body]
        return _cut(ex.response_body)

    # -- recording -------------------------------------------------------------------------------

    def _record(self, ex: Exchange) -> None:
        """Queue the exchange; the journal builds (and redacts) the entry when it is first
        read, so redaction costs nothing on the request's own path."""
        ex.finished = time.perf_counter()
        # Keep only what an entry is built from: no sockets or streams wait in the journal.
        ex.environ = {k: v for k, v in ex.environ.items() if isinstance(v, str) or k == OUTCOME_KEY}

        def build() -> dict[str, Any]:
            try:
                return build_entry(ex, self.redactor)
            except Exception as exc:  # a journal bug must not break anything; surface it instead
                self.on_error(exc, f"recording {ex.method} {ex.raw_path}")
                return {"method": ex.method, "path": ex.raw_path, "error": "entry not recorded"}

        self.journal.add_pending(build)


def _cut(body: bytes) -> Iterable[bytes]:
    yield body[: len(body) // 2]
    raise DropConnection("fault drop-mid")


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Fault"


def _route_of(method: str, raw_path: str) -> str | None:
    try:
        return find_route(method, routing_path(raw_path)).name
    except Exception:
        return None


def _peer_closed(sock: socket.socket) -> bool:
    """Whether the client has closed its end (peeks at the raw socket, TLS or not)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return socket.socket.recv(sock, 1, socket.MSG_PEEK) == b""
    except (OSError, ValueError, ssl.SSLError):
        return True


# -- entries -------------------------------------------------------------------------------------


def _learn_secrets(ex: Exchange, outcome: dict[str, Any], redactor: Redactor) -> None:
    """Register what this exchange carries that is secret, before anything is scrubbed."""
    for name, value in _request_headers(ex.environ):
        if name.lower() in CREDENTIAL_HEADERS:
            redactor.add(value, "header", pinned=False)
            redactor.add(_credential(value), "token", pinned=False)
    body = _json(ex.body)
    if isinstance(body, dict) and isinstance(body.get("ca.crt"), str):
        redactor.add(body["ca.crt"], "ca.crt", pinned=False)
        try:
            redactor.add(base64.b64decode(body["ca.crt"], validate=False), "ca.crt", pinned=False)
        except ValueError:
            pass
    value = _secret_answer(ex, outcome)
    for secret in _strings(value):
        redactor.add(secret, "output", pinned=False)


def _secret_answer(ex: Exchange, outcome: dict[str, Any]) -> Any:
    """The decoded value of an R1/R2 success (a secret or generator output), else None."""
    if ex.status != 200 or outcome.get("route") not in (R1, R2):
        return None
    return _json(ex.response_body)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _masked(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor.mask(value)
    if isinstance(value, dict):
        return {k: _masked(v, redactor) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, redactor) for v in value]
    return value


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


def _credential(value: str) -> str:
    scheme, _, rest = value.partition(" ")
    return rest.strip() if rest and scheme.isalpha() else value


def _request_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), str(value)))
        elif key == "CONTENT_LENGTH" and "HTTP_TRANSFER_ENCODING" in environ:
            continue  # a chunked body: the listener counted its length, the client sent none
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").title(), str(value)))
    return headers


def _show_header(name: str, value: str, redactor: Redactor) -> str:
    if name.lower() not in CREDENTIAL_HEADERS or not redactor.enabled:
        return value
    scheme, _, rest = value.partition(" ")
    if rest and scheme.isalpha():
        return f"{scheme} {redactor.mask(rest.strip())}"
    return redactor.mask(value)


def _tls_peer(environ: dict[str, Any]) -> dict[str, Any] | None:
    pem = environ.get("SSL_CLIENT_CERT")
    if not pem:
        return None
    peer: dict[str, Any] = {}
    try:
        cert = x509.load_pem_x509_certificate(str(pem).encode())
        peer["fingerprint"] = fingerprint(cert.public_bytes(Encoding.DER))
    except ValueError:
        peer["fingerprint"] = None
    try:
        peer["spiffe_id"] = spiffe_id_of(str(pem))
    except Exception as exc:
        peer["spiffe_id"] = None
        peer["error"] = str(exc)
    return peer


def build_entry(ex: Exchange, redactor: Redactor) -> dict[str, Any]:
    """The journal entry of one exchange, with every secret replaced by its fingerprint."""
    outcome = dict(ex.environ.get(OUTCOME_KEY) or {"listener": ex.listener})
    _learn_secrets(ex, outcome, redactor)
    answer = _secret_answer(ex, outcome)
    if answer is not None and redactor.enabled:
        response_text = go_json(_masked(answer, redactor)).decode()
    else:
        response_text = ex.response_body.decode("utf-8", "backslashreplace")
    near_miss = outcome.get("near_miss") or None
    if near_miss is None and ex.route is None and ex.status in (404, 405):
        near_miss = explain_route_miss(ex.method, ex.raw_path)
    if near_miss is None and ex.status == 405:
        near_miss = explain_route_miss(ex.method, ex.raw_path)
    identity = outcome.get("identity")
    entry: dict[str, Any] = {
        "time": ex.time,
        "time_iso": datetime.fromtimestamp(ex.time, UTC).isoformat(timespec="milliseconds"),
        "duration_ms": round(((ex.finished or time.perf_counter()) - ex.started) * 1000, 3),
        "listener": ex.listener,
        "method": ex.method,
        "path": ex.raw_path,
        "query": ex.query,
        "headers": {
            name: _show_header(name, value, redactor)
            for name, value in _request_headers(ex.environ)
        },
        "body": ex.body.decode("utf-8", "backslashreplace"),
        "tls": _tls_peer(ex.environ),
        "identity": identity,
        "authorization": outcome.get("authorization"),
        "route": outcome.get("route", ex.route),
        "error": outcome.get("error"),
        "near_miss": near_miss,
        "outcome": outcome,
        "response": None
        if ex.status is None
        else {
            "status": ex.status,
            "headers": {k: v for k, v in ex.headers},
            "body": response_text,
        },
        "dropped": ex.dropped,
        "fault": ex.firing.describe() if ex.firing else None,
        "redacted": redactor.enabled,
    }
    # Every string (paths, bodies, error texts, near misses) goes through the scrubber.
    return redactor.scrub_value(entry) if redactor.enabled else entry
