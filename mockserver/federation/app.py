"""The federation Flask app: one request path, middleware before routing as echo runs it.

echo finds the route first but runs the authentication middleware around whatever it found, so
an unauthenticated request to any path or method is a 401 (docs/protocol.md §2.1). The app
therefore answers everything from one `before_request` hook: body limit → authenticate →
workload token → the route found once (`outcome.request_state`) → handler → Go-style JSON.
Flask's own router never sees these paths (it would decode `%2F` and merge slashes, which echo
does not).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from mockserver.federation import handlers
from mockserver.federation.authn import Credentials, workload_context
from mockserver.federation.context import FederationContext
from mockserver.federation.errors import Denied, PayloadTooLarge, ProtocolError
from mockserver.federation.outcome import request_state
from mockserver.federation.routing import R1, R2, R3, R4, InvalidPath, encoded_slash_refusal
from mockserver.gojson import go_json
from mockserver.serving import DropConnection, drop_aware, request_drop

HANDLERS = {
    R1: handlers.get_secret,
    R2: handlers.generate,
    R3: handlers.revoke_self,
    R4: handlers.revoke_of,
}


def json_response(
    status: int, value: Any, pretty: bool, headers: dict[str, str] | None = None
) -> Response:
    response = Response(go_json(value, pretty=pretty), status=status)
    response.headers["Content-Type"] = "application/json"
    for name, header in (headers or {}).items():
        response.headers[name] = header
    return response


def _read_body(limit: int) -> bytes:
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge()
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge()
    return body


def _go_content_length_is_zero() -> bool:
    """Go sets `ContentLength` 0 for `Content-Length: 0` and for a request with no body framing;
    a chunked request has -1 whatever it carries."""
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        return False
    return not request.content_length


def _wants_pretty(raw_query: str) -> bool:
    return any(part.split("=", 1)[0] == "pretty" for part in raw_query.split("&"))


def serve_federation_request(ctx: FederationContext, listener: str) -> Response:
    """Answer one request on a federation listener, whatever its path and method."""
    environ = request.environ
    state = request_state(environ, listener)
    route, outcome = state.route, state.outcome
    pretty = _wants_pretty(route.query)
    if isinstance(route.refusal, InvalidPath):
        outcome.error = "invalid URL escape"
        response = Response(
            b"400 Bad Request", status=400, content_type="text/plain; charset=utf-8"
        )
        response.headers["Connection"] = "close"
        return response
    try:
        body = _read_body(ctx.max_body_bytes)
        identity = ctx.authenticator.authenticate(
            Credentials(
                authorization=request.headers.get("Authorization"),
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
            request.headers.get("x-workload-token"),
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
            response = Response(status=204)
            response.headers["Allow"] = match.params["allow"]
            return response
        if ctx.behaviour.strict and (slash := encoded_slash_refusal(route)) is not None:
            raise slash
        call = handlers.Call(
            identity=identity,
            workload=workload,
            params=match.params,
            body=body,
            content_type=request.headers.get("Content-Type", ""),
            outcome=outcome,
            zero_length=_go_content_length_is_zero(),
            raw_query=route.query,
        )
        value = HANDLERS[match.name](ctx, call)
        return json_response(200, value, pretty)
    except DropConnection as drop:
        outcome.error = f"connection dropped: {drop}"
        request_drop(environ, str(drop))
        return Response(status=500)
    except ProtocolError as error:
        outcome.error = error.detail
        if isinstance(error, Denied) and error.near_miss:
            outcome.near_miss = error.near_miss
        return json_response(error.status, error.body, pretty, error.headers)


def create_app(ctx: FederationContext, listener: str = "http") -> Flask:
    """A federation app for one listener (`http`, `https` or `mtls`) of a shared context."""
    app = Flask(f"mockserver.federation.{listener}")
    app.config["MAX_CONTENT_LENGTH"] = None
    app.before_request(lambda: serve_federation_request(ctx, listener))
    app.extensions["esi_federation"] = ctx
    app.wsgi_app = drop_aware(app.wsgi_app)  # type: ignore[method-assign]
    return app
