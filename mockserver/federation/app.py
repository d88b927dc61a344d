"""The federation WSGI app: one request path, middleware before routing as echo runs it.

echo finds the route first but runs the authentication middleware around whatever it found, so
an unauthenticated request to any path or method is a 401 (docs/protocol.md §2.1). The app
therefore answers everything from one function: body limit → authenticate → workload token → the
route found once (`outcome.request_state`) → handler → Go-style JSON.

It is a plain WSGI callable over the environ, not a framework app: no framework router could be
used (one would decode `%2F` and merge slashes, which echo does not), and a request context costs
more than the rest of a warm R1 request. An unexpected exception is the real server's panic (it
installs no recover middleware): it is reported to `on_error` and the connection is closed with
no answer (docs/protocol.md §2.1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from mockserver.federation import handlers
from mockserver.federation.authn import Credentials, workload_context
from mockserver.federation.context import FederationContext
from mockserver.federation.errors import Denied, PayloadTooLarge, ProtocolError
from mockserver.federation.outcome import Outcome, request_state, request_target
from mockserver.federation.routing import (
    R1,
    R2,
    R3,
    R4,
    InvalidPath,
    RouteResult,
    encoded_slash_refusal,
)
from mockserver.federation.warm import Key, WarmAnswers, request_key
from mockserver.gojson import go_json
from mockserver.serving import DropConnection

HANDLERS = {
    R2: handlers.generate,
    R3: handlers.revoke_self,
    R4: handlers.revoke_of,
}

Headers = list[tuple[str, str]]
Answer = tuple[int, Headers, bytes]
ErrorSink = Callable[[BaseException, str], None]

_BAD_ESCAPE: Answer = (
    400,
    [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")],
    b"400 Bad Request",
)
_STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}
"""WSGI status lines (the listener writes Go's reason phrases; only the code is read)."""


def json_answer(
    status: int, value: Any, pretty: bool, headers: dict[str, str] | None = None
) -> Answer:
    """A Go-encoded JSON answer (echo's `c.JSON`)."""
    fields = [("Content-Type", "application/json")]
    fields += list((headers or {}).items())
    return status, fields, go_json(value, pretty=pretty)


def _content_length(environ: dict[str, Any]) -> int | None:
    """The request's declared length, None when absent, chunked or not a number."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    text = environ.get("CONTENT_LENGTH", "")
    if not text:
        return None
    try:
        return max(int(text), 0)
    except ValueError:
        return None


def _read_body(environ: dict[str, Any], limit: int) -> bytes:
    length = _content_length(environ)
    if length is not None and length > limit:
        raise PayloadTooLarge()
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        body = stream.read(limit + 1)
    elif length is None:
        return b""  # without framing or a terminated stream, WSGI gives no safe way to read
    else:
        body = stream.read(min(length, limit + 1))
    if len(body) > limit:
        raise PayloadTooLarge()
    return bytes(body)


def _wants_pretty(raw_query: str) -> bool:
    return any(part.split("=", 1)[0] == "pretty" for part in raw_query.split("&"))


def answer(
    ctx: FederationContext, listener: str, environ: dict[str, Any], warm: WarmAnswers
) -> Answer:
    """The answer to one request on a federation listener, whatever its path and method."""
    state = request_state(environ, listener)
    route, outcome = state.route, state.outcome
    pretty = _wants_pretty(route.query)
    if isinstance(route.refusal, InvalidPath):
        outcome.error = "invalid URL escape"
        return _BAD_ESCAPE
    try:
        body = _read_body(environ, ctx.max_body_bytes)
        key = None
        if route.match is not None and route.match.name == R1:
            target = route.raw_path + (f"?{route.query}" if route.query else "")
            key = request_key(listener, environ, target, body)
            kept = warm.replay(key, outcome)
            if kept is not None:
                return kept
        return _serve(ctx, listener, environ, body, route, outcome, pretty, warm, key)
    except ProtocolError as error:
        outcome.error = error.detail
        if isinstance(error, Denied) and error.near_miss:
            outcome.near_miss = error.near_miss
        return json_answer(error.status, error.body, pretty, error.headers)


def _serve(
    ctx: FederationContext,
    listener: str,
    environ: dict[str, Any],
    body: bytes,
    route: RouteResult,
    outcome: Outcome,
    pretty: bool,
    warm: WarmAnswers,
    key: Key | None,
) -> Answer:
    # Versions taken before anything is read, and only for a request that may be kept.
    world, since = (warm.world(), ctx.clock.now()) if key is not None else ((), 0.0)
    identity = ctx.authenticator.authenticate(
        Credentials(
            authorization=environ.get("HTTP_AUTHORIZATION"),
            body=body,
            peer_cert_pem=environ.get("SSL_CLIENT_CERT") if listener == "mtls" else None,
        )
    )
    outcome.identity = {
        "method": identity.method,
        "issuer": identity.provider,
        "subject": identity.subject,
    }
    workload = workload_context(
        environ.get("HTTP_X_WORKLOAD_TOKEN"),
        identity,
        ctx.behaviour,
        ctx.verify_workload_token,
    )
    if route.refusal is not None:
        raise route.refusal
    assert route.match is not None
    match = route.match
    outcome.route = match.name
    if match.name == "options":
        return 204, [("Allow", match.params["allow"])], b""
    if ctx.behaviour.strict and (slash := encoded_slash_refusal(route)) is not None:
        raise slash
    call = handlers.Call(
        identity=identity,
        workload=workload,
        params=match.params,
        body=body,
        content_type=environ.get("CONTENT_TYPE", ""),
        outcome=outcome,
        # Go's ContentLength is 0 for `Content-Length: 0` and for a request without framing,
        # and -1 for a chunked one whatever it carries.
        zero_length=not _content_length(environ)
        and "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower(),
        raw_query=route.query,
    )
    if match.name != R1:
        return json_answer(200, HANDLERS[match.name](ctx, call), pretty)
    read = handlers.read_secret(ctx, call)
    handlers.issue(ctx, read.issued)
    fresh = json_answer(200, read.value, pretty)
    warm.keep(key, fresh, identity, read, world, since)
    return fresh


class FederationApp:
    """The WSGI callable of one listener (`http`, `https` or `mtls`) over a shared context."""

    def __init__(
        self, ctx: FederationContext, listener: str = "http", on_error: ErrorSink | None = None
    ) -> None:
        self.ctx = ctx
        self.listener = listener
        self.name = f"mockserver.federation.{listener}"
        self.on_error = on_error
        self.log = logging.getLogger(self.name)
        self.warm = WarmAnswers(ctx)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            status, headers, body = answer(self.ctx, self.listener, environ, self.warm)
        except DropConnection as drop:
            request_state(environ, self.listener).outcome.error = f"connection dropped: {drop}"
            raise
        except Exception as exc:
            # The real server's panic: no answer, the connection closes (net/http logs the panic
            # with its stack); the failure is also reported to the test that caused it.
            self.log.error(
                "panic serving %s %s: %s",
                environ.get("REQUEST_METHOD", ""),
                request_target(environ),
                exc,
                exc_info=True,
            )
            if self.on_error is not None:
                self.on_error(exc, f"federation app {self.name}")
            reason = f"the mock failed: {type(exc).__name__}"
            request_state(environ, self.listener).outcome.error = reason
            raise DropConnection(reason) from exc
        headers = [*headers, ("Content-Length", str(len(body)))]
        start_response(_STATUS_LINES.get(status, f"{status} Unknown"), headers)
        # A HEAD answer carries the length the GET would have, and no body (as Go sends it).
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def create_app(
    ctx: FederationContext, listener: str = "http", on_error: ErrorSink | None = None
) -> FederationApp:
    """A federation app for one listener of a shared context."""
    return FederationApp(ctx, listener, on_error)
