"""The one list of authenticators, and the one step that runs them.

Order is the mock's deterministic default (the real server iterates a Go map, so its order is
random); the quirk `random-authenticator` shuffles the whole list at this step and nowhere
else. In the default order an authenticator with a `prefers` runs only for credentials it
prefers (it can accept no others), first, and its refusal is the one answered: Okta and PingIdentity prefer tokens whose issuer an Authorization
binds to their Federation kind, so an Okta issuer gives `okta` and a PingOne issuer
`pingidentity` although either would accept both (§3.7). Adding an authenticator is a module
and a line here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from mockserver.federation.authenticators import oidc, okta, pingidentity, spiffe
from mockserver.federation.authenticators.base import (
    Authenticator,
    Credentials,
    Identity,
    Refusal,
    Setup,
)
from mockserver.federation.errors import Unauthenticated


@dataclass(frozen=True)
class Registration:
    """One authenticator: how to build it from the shared setup."""

    build: Callable[[Setup], Authenticator]


REGISTRY: tuple[Registration, ...] = (
    Registration(oidc.KubernetesOIDC),
    Registration(okta.Okta),
    Registration(pingidentity.PingIdentity),
    Registration(spiffe.Spiffe),
)


class Authenticators:
    """Runs the registered authenticators and returns the first identity, or one 401."""

    def __init__(
        self,
        setup: Setup,
        registry: tuple[Registration, ...] = REGISTRY,
        rng: random.Random | None = None,
    ) -> None:
        self.behaviour = setup.behaviour
        self.every = tuple(r.build(setup) for r in registry)
        self._rng = rng or random.Random()

    def authenticate(self, creds: Credentials) -> Identity:
        """An identity, or raise Unauthenticated with the chosen authenticator's text."""
        shuffled = self.behaviour.enabled("random-authenticator")
        order = list(self.every)
        preferred: list[Authenticator] = []
        if shuffled:
            self._rng.shuffle(order)
        else:
            preferred = [a for a in order if _prefers(a, creds)]
            order = preferred + [a for a in order if not hasattr(a, "prefers")]
        refusals: list[tuple[Authenticator, Refusal]] = []
        for authenticator in order:
            try:
                return authenticator.authenticate(creds)
            except Refusal as refusal:
                refusals.append((authenticator, refusal))
        chosen = refusals[-1][1]
        if preferred:
            chosen = refusals[0][1]
        elif not shuffled:
            presented = [r for a, r in refusals if a.presented(creds)]
            chosen = presented[-1] if presented else refusals[0][1]
        raise Unauthenticated(
            str(chosen), detail="; ".join(f"{a.name}: {r.detail}" for a, r in refusals)
        )


def _prefers(authenticator: Authenticator, creds: Credentials) -> bool:
    prefers = getattr(authenticator, "prefers", None)
    return bool(prefers(creds)) if callable(prefers) else False
