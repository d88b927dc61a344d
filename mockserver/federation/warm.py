"""Warm answers: an R1 request repeated while nothing it reads has changed gets the answer
its first computation gave, without authenticating and authorizing it again.

A fresh R1 answer of an OIDC, Okta or PingIdentity caller reads the request (listener, target,
Authorization, body; never the client certificate), the manifests, the modes, the clock, and the state of the fake clusters and
identity providers its keys come from; the backend-fault guard and the AuthorizedIdentity write
run on every request, hit or not. An answer is kept only when every one of those is versioned
here: a 200, no quirk on (several are random or stateful), no `x-workload-token` (its own
expiry and keys), a token with a numeric `exp`, and keys from this process's own fake clusters
or identity providers (an upstream the mock does not own is fetched on every request). A hit
needs equal versions of all of them and the clock before the token's `exp`, so it is exactly
what a fresh computation would answer now (`tests/test_warm_answers.py` checks this against
fresh answers over random changes).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from mockserver.federation.authenticators.base import Identity
from mockserver.federation.context import FederationContext
from mockserver.federation.handlers import SecretRead, issue
from mockserver.federation.outcome import Outcome
from mockserver.federation.routing import R1

MAX_ENTRIES = 4096
"""Bounded: a long run sees many tokens; the oldest entries go first."""
MAX_BODY = 8192
"""Larger bodies are never kept (a client's body is a few hundred bytes; memory stays bounded)."""

Answer = tuple[int, list[tuple[str, str]], bytes]
Key = tuple[str, str, str | None, bytes]


@dataclass(frozen=True)
class Warm:
    """One kept answer and what it was computed from."""

    answer: Answer
    identity: dict[str, str]
    read: SecretRead
    world: tuple[Any, ...]
    since: float
    until: float


def request_key(listener: str, environ: dict[str, Any], target: str, body: bytes) -> Key | None:
    """What an R1 answer reads of the request, or None when it is not kept at all. The client
    certificate is not part of it: only OIDC, Okta and PingIdentity answers are kept, and those
    authenticators never read it (the TLS layer has already judged it)."""
    if "HTTP_X_WORKLOAD_TOKEN" in environ or len(body) > MAX_BODY:
        return None
    return (listener, target, environ.get("HTTP_AUTHORIZATION"), body)


class WarmAnswers:
    """The kept R1 answers of one federation context."""

    def __init__(self, ctx: FederationContext, enabled: bool = True) -> None:
        self.ctx = ctx
        self.enabled = enabled
        self._kept: dict[Key, Warm] = {}
        self._lock = threading.Lock()
        self.hits = 0

    def world(self) -> tuple[Any, ...]:
        """The versions of everything an R1 answer reads besides the request and the clock."""
        ctx = self.ctx
        providers = ctx.identity_providers
        return (
            ctx.registry.version,
            ctx.behaviour.strict,
            ctx.clock.generation,
            tuple((c.state_version, c.listening) for c in list(ctx.clusters.values())),
            providers.state_versions() if providers is not None else (),
        )

    def replay(self, key: Key | None, outcome: Outcome) -> Answer | None:
        """The kept answer for this request if it still holds (the backend guard and the
        AuthorizedIdentity write run as on a fresh answer), else None."""
        if key is None or not self.enabled:
            return None
        warm = self._kept.get(key)
        if warm is None or self.ctx.behaviour.quirks:
            return None
        now = self.ctx.clock.now()
        if not warm.since <= now < warm.until or warm.world != self.world():
            return None
        outcome.identity = warm.identity
        outcome.route = R1
        outcome.authorization = warm.read.authorization
        self.ctx.bookkeeping.check_store_read(warm.read.store)
        issue(self.ctx, warm.read.issued)
        self.hits += 1
        return warm.answer

    def keep(
        self,
        key: Key | None,
        answer: Answer,
        identity: Identity,
        read: SecretRead,
        world: tuple[Any, ...],
        since: float,
    ) -> None:
        """Keep a fresh 200 answer when everything it read is versioned (module docstring)."""
        if key is None or not self.enabled or self.ctx.behaviour.quirks:
            return
        until = _expiry(identity)
        if until is None or not self._versioned(identity):
            return
        warm = Warm(answer, _identity(identity), read, world, since, until)
        with self._lock:  # readers need none: a dict read is atomic
            kept = self._kept
            if len(kept) >= MAX_ENTRIES:
                kept.pop(next(iter(kept)), None)
            kept[key] = warm

    def _versioned(self, identity: Identity) -> bool:
        if identity.method == "oidc":
            return self.ctx.resolver.serves(identity.provider)
        return identity.method in ("okta", "pingidentity")


def _expiry(identity: Identity) -> float | None:
    token = getattr(identity, "token", None)
    exp = token.claims.get("exp") if token is not None else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)


def _identity(identity: Identity) -> dict[str, str]:
    return {"method": identity.method, "issuer": identity.provider, "subject": identity.subject}
