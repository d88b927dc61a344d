"""kube-apiserver's `Status` failure bodies and responses, byte for byte."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from mockserver.keys import go_json


def status_body(code: int, reason: str, message: str, *, details: bool = True) -> bytes:
    """A Kubernetes `Status` failure body as kube-apiserver writes it (compact, newline)."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details:
        body["details"] = {}
    body["code"] = code
    return go_json(body) + b"\n"


UNAUTHORIZED_BODY = status_body(401, "Unauthorized", "Unauthorized", details=False)
NOT_FOUND_BODY = status_body(404, "NotFound", "the server could not find the requested resource")


def forbidden_body(user: str, path: str, verb: str = "get") -> bytes:
    """RBAC's refusal of a non-resource URL: `User "<user>" cannot <verb> path "<path>"`."""
    return status_body(403, "Forbidden", f'forbidden: User "{user}" cannot {verb} path "{path}"')


def status_response(code: int, body: bytes) -> Response:
    response = Response(body, status=code, content_type="application/json")
    response.headers["Cache-Control"] = "no-cache, private"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
