"""One request as the admin middlewares see it: the federation's routed state plus fault facts.

The recorder creates it (outermost), the fault injector adds what fired, and the journal entry is
built from it once the exchange ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from mockserver.admin.faults import Firing
from mockserver.federation.outcome import RequestState, request_state

EXCHANGE_KEY = "esi.exchange"


@dataclass
class Exchange:
    """What an entry is built from; `environ` keeps only its strings once recorded."""

    environ: dict[str, Any]
    listener: str
    time: float
    request: RequestState
    started: float = field(default_factory=perf_counter)
    body: bytes = b""
    firing: Firing | None = None
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    dropped: str | None = None
    cut_midway: bool = False
    """Deliver the headers and half the body, then close (fault drop-mid)."""
    finished: float | None = None

    @property
    def method(self) -> str:
        return self.request.route.method

    @property
    def raw_path(self) -> str:
        return self.request.route.raw_path

    @property
    def query(self) -> str:
        return self.request.route.query

    @property
    def route(self) -> str | None:
        return self.request.route.name


def open_exchange(environ: dict[str, Any], listener: str, now: float) -> Exchange:
    """Route the request (once, for every layer) and start its exchange."""
    exchange = Exchange(environ, listener, now, request_state(environ, listener))
    environ[EXCHANGE_KEY] = exchange
    return exchange


def exchange_of(environ: dict[str, Any]) -> Exchange:
    """The exchange the recorder opened for this request."""
    exchange = environ.get(EXCHANGE_KEY)
    if not isinstance(exchange, Exchange):
        raise RuntimeError("fault injection runs inside the journal recorder")
    return exchange
