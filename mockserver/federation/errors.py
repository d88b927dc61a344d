"""Typed protocol failures, each mapped to the real server's status and body in one place."""

from __future__ import annotations


class ProtocolError(Exception):
    """A failure that becomes an HTTP answer. `body` is the JSON value echo would write."""

    status: int = 400

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message
        """Why, for the journal only; never sent to the client."""

    @property
    def body(self) -> object:
        return self.message

    @property
    def headers(self) -> dict[str, str]:
        return {}


class Unauthenticated(ProtocolError):
    """Every authenticator failed: 401 with the chosen authenticator's error as a JSON string."""

    status = 401


class BadRequest(ProtocolError):
    """Handler, backend and validation failures: the real server answers them all with 400."""

    status = 400


class Denied(ProtocolError):
    """No Authorization grants this subject the resource: 404 `"Not Found"`, never 403."""

    status = 404

    def __init__(self, near_miss: str = "") -> None:
        super().__init__("Not Found")
        self.near_miss = near_miss


class RouteNotFound(ProtocolError):
    """echo's own 404 for an unknown route, an object unlike the handlers' strings."""

    status = 404

    def __init__(self) -> None:
        super().__init__("Not Found")

    @property
    def body(self) -> object:
        return {"message": "Not Found"}


class MethodNotAllowed(ProtocolError):
    """echo's 405 for a known path with the wrong method, with an `Allow` header."""

    status = 405

    def __init__(self, allow: tuple[str, ...]) -> None:
        super().__init__("Method Not Allowed")
        self.allow = allow

    @property
    def body(self) -> object:
        return {"message": "Method Not Allowed"}

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allow)}


class PayloadTooLarge(ProtocolError):
    """Request bodies over the limit (a documented deviation: the real server has no limit)."""

    status = 413

    def __init__(self) -> None:
        super().__init__("Request Entity Too Large")

    @property
    def body(self) -> object:
        return {"message": "Request Entity Too Large"}
