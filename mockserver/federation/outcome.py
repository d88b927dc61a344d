"""What one federation request decided, typed, and the one environ slot it travels in.

The outermost layer (the journal's recorder, or the federation app when it runs alone) routes the
request once and puts a `RequestState` into the WSGI environ; faults read its route, the app fills
its `Outcome`, and the recorder turns the outcome into the journal entry's `outcome` member.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.federation.routing import RouteResult, route_target

ENVIRON_KEY = "esi.request"


@dataclass
class Outcome:
    """Authentication, authorization and handler results, for the journal only."""

    listener: str
    identity: dict[str, str] | None = None
    route: str | None = None
    authorization: str | None = None
    near_miss: str | None = None
    error: str | None = None
    generator_state: str | None = None
    deleted: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The members that were decided (the journal's `outcome`), `listener` first."""
        decided: dict[str, Any] = {"listener": self.listener}
        for name in (
            "identity",
            "route",
            "authorization",
            "near_miss",
            "error",
            "generator_state",
            "deleted",
        ):
            value = getattr(self, name)
            if value is not None:
                decided[name] = value
        return decided


@dataclass
class RequestState:
    """One request's route (found once) and outcome (filled by the app)."""

    route: RouteResult
    outcome: Outcome


def request_target(environ: dict[str, Any]) -> str:
    """The raw request target: the client's bytes when the server kept them."""
    uri = environ.get("REQUEST_URI")
    if uri:
        return str(uri)
    query = environ.get("QUERY_STRING", "")
    return environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")


def request_state(environ: dict[str, Any], listener: str) -> RequestState:
    """This request's state, routed on first use."""
    state = environ.get(ENVIRON_KEY)
    if not isinstance(state, RequestState):
        route = route_target(environ.get("REQUEST_METHOD", ""), request_target(environ))
        state = RequestState(route, Outcome(listener))
        environ[ENVIRON_KEY] = state
    return state
