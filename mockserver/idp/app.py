"""The HTTPS app of one fake identity provider: discovery and JWKS per issuer, by host and path.

The Host header chooses the issuer's host (PingOne serves one host per region), so the same
listener answers `auth.pingone.com` and `auth.pingone.eu`; an unknown path is Okta's or
PingOne's plain 404.
"""

from __future__ import annotations

from typing import Protocol

import flask
from werkzeug.wrappers import Response

from .documents import discovery_document, jwks_document
from .servers import AuthorizationServer

NOT_FOUND = b'{"errorCode":"E0000007","errorSummary":"Not found: Resource not found"}'


class Served(Protocol):
    """What the app reads of its provider."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def faults(self) -> object: ...
    def at(self, host: str, path: str) -> tuple[AuthorizationServer, str] | None: ...
    def count_request(self, endpoint: str) -> None: ...


def build_idp_app(provider: Served) -> flask.Flask:
    app = flask.Flask(f"fake-idp-{provider.name}")

    @app.route("/", defaults={"path": ""}, methods=["GET", "HEAD", "POST"])
    @app.route("/<path:path>", methods=["GET", "HEAD", "POST"])
    def handle(path: str) -> Response:
        request = flask.request
        host = (request.host or "").rsplit(":", 1)[0] if "]" not in request.host else request.host
        found = provider.at(host, request.path)
        endpoint = found[1] if found else "other"
        provider.count_request(endpoint)
        hook = provider.faults
        if callable(hook):
            answer = hook(endpoint, request)
            if isinstance(answer, Response):
                return answer
        if found is None or request.method != "GET":
            return Response(NOT_FOUND, status=404, content_type="application/json")
        server, endpoint = found
        if endpoint == "discovery":
            body = discovery_document(provider.kind, server)
        else:
            body = jwks_document(provider.kind, server)
        response = Response(body, status=200, content_type="application/json")
        response.headers["Cache-Control"] = "max-age=3600, must-revalidate"
        return response

    return app
