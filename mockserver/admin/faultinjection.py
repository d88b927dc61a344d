"""WSGI middleware that applies the matching fault rule to a federation request.

recorder → this middleware → federation app. It picks a rule on the route found once, delays,
hangs, drops, answers a canned status or mangles the app's answer, and notes on the exchange what
fired so that the recorder journals it.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from mockserver.admin.exchange import Exchange, exchange_of
from mockserver.admin.faults import ClockGate, FaultRule, FaultSet
from mockserver.clock import Clock
from mockserver.gojson import go_json
from mockserver.serving import DropConnection

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class FaultMiddleware:
    """Applies faults around one listener's federation app (see the module docstring)."""

    def __init__(
        self,
        app: WSGIApp,
        listener: str,
        *,
        faults: FaultSet,
        gate: ClockGate,
        clock: Clock,
        stopping: threading.Event,
    ) -> None:
        self.app = app
        self.listener = listener
        self.faults = faults
        self.gate = gate
        self.clock = clock
        self.stopping = stopping

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        ex = exchange_of(environ)
        ex.firing = self.faults.pick(self.listener, ex.method, ex.raw_path, ex.route)
        rule = ex.firing.rule if ex.firing else None
        if rule is None:
            return self.app(environ, start_response)
        if not self._wait(ex, rule):
            raise DropConnection(ex.dropped or "fault")
        if rule.action == "drop-before":
            ex.dropped = "fault drop-before: closed before any response"
            raise DropConnection(ex.dropped)
        if rule.action == "status":
            return _fault_response(rule, start_response)
        if rule.action in ("malformed-json", "wrong-content-type"):
            return _Mangler(rule.action).run(self.app, environ, start_response)
        if rule.action == "drop-mid":
            ex.cut_midway = True
            ex.dropped = "fault drop-mid: closed after the headers and half the body"
        return self.app(environ, start_response)

    def _wait(self, ex: Exchange, rule: FaultRule) -> bool:
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


def status_line(status: int) -> str:
    """`404 Not Found`, or `<n> Fault` for a status without a standard phrase."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Fault"


def _fault_response(rule: FaultRule, start_response: Any) -> Iterable[bytes]:
    status = rule.status or 500
    if rule.body is not None:
        body = rule.body.encode()
    else:
        body = go_json(status_line(status).split(" ", 1)[1])
    headers = [("Content-Type", rule.content_type or "application/json")]
    headers += list(rule.headers.items())
    start_response(status_line(status), headers)
    return [body]


class _Mangler:
    """Runs the app and spoils its answer: half the JSON, or an HTML content type."""

    def __init__(self, action: str) -> None:
        self.action = action

    def run(self, app: WSGIApp, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, list(headers)
            return lambda data: captured.setdefault("written", []).append(data)

        result = app(environ, capture)
        try:
            body = b"".join([*captured.get("written", []), *result])
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers: list[tuple[str, str]] = captured["headers"]
        if self.action == "malformed-json":
            body = body[: max(1, len(body) // 2)] if body else b'{"'
        else:
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("Content-Type", "text/html; charset=utf-8"))
        start_response(captured["status"], headers)
        return [body]


def _peer_closed(sock: socket.socket) -> bool:
    """Whether the client has closed its end (peeks at the raw socket, TLS or not)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return socket.socket.recv(sock, 1, socket.MSG_PEEK) == b""
    except (OSError, ValueError, ssl.SSLError):
        return True
