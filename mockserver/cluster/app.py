"""A fake cluster's HTTPS discovery endpoints, with kube-apiserver's access rules.

The RBAC bootstrap role `system:service-account-issuer-discovery` grants only `get` on the two
non-resource URLs; for a non-resource URL the verb is the lower-cased method, so HEAD, POST, PUT
and DELETE are refused with RBAC's 403 naming the verb, for service accounts and anonymous alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import flask
from werkzeug.wrappers import Response

from mockserver.cluster.status import (
    NOT_FOUND_BODY,
    UNAUTHORIZED_BODY,
    forbidden_body,
    status_response,
)
from mockserver.discovery import (
    CACHE_CONTROL,
    DISCOVERY_CONTENT_TYPE,
    DISCOVERY_PATH,
    JWKS_CONTENT_TYPE,
    JWKS_PATH,
    https_url_error,
)

FaultHook = Callable[[str, flask.Request], Response | None]
"""Called per request with the endpoint ("discovery", "jwks" or "other"); a response it returns
is sent instead of the normal one. The admin layer installs these to break the cluster side."""

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE"]


class Served(Protocol):
    """What the app reads of its cluster."""

    @property
    def name(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def faults(self) -> FaultHook | None: ...
    def count_request(self, endpoint: str) -> None: ...
    def discovery_access(self, token: str | None) -> tuple[str | None, bool]: ...
    def discovery_bytes(self) -> bytes: ...
    def jwks_bytes(self) -> bytes: ...


def build_discovery_app(cluster: Served) -> flask.Flask:
    """The Flask app serving `cluster`'s discovery document and JWKS."""
    app = flask.Flask(f"fake-cluster-{cluster.name}")
    endpoints = {DISCOVERY_PATH: "discovery", JWKS_PATH: "jwks"}

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def handle(path: str) -> Response:
        request = flask.request
        endpoint = endpoints.get(request.path)
        if endpoint is not None:
            cluster.count_request(endpoint)
        hook = cluster.faults
        if hook is not None:
            answer = hook(endpoint or "other", request)
            if answer is not None:
                return answer
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else None
        user, granted = cluster.discovery_access(bearer)
        if user is None:
            return status_response(401, UNAUTHORIZED_BODY)
        if endpoint is None or https_url_error(cluster.issuer) is not None:
            return status_response(404, NOT_FOUND_BODY)
        verb = request.method.lower()
        if not granted or verb != "get":
            return status_response(403, forbidden_body(user, request.path, verb))
        if endpoint == "discovery":
            document, content_type = cluster.discovery_bytes(), DISCOVERY_CONTENT_TYPE
        else:
            document, content_type = cluster.jwks_bytes(), JWKS_CONTENT_TYPE
        response = Response(document, status=200, content_type=content_type)
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response

    return app
