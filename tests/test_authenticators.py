"""The authenticator registry: one ordered tuple, one step that runs it, one 401."""

from __future__ import annotations

import random

import pytest

from mockserver.federation.authenticators.base import Credentials, Identity, Refusal, Setup
from mockserver.federation.authenticators.registry import (
    REGISTRY,
    Authenticators,
    Registration,
)
from mockserver.federation.errors import Unauthenticated
from mockserver.federation.modes import Behaviour


class Scripted:
    """An authenticator that accepts one token and says so in its refusals."""

    def __init__(self, name: str, token: str, presented_when: str | None = None) -> None:
        self.name, self.token, self.presented_when = name, token, presented_when

    def presented(self, creds: Credentials) -> bool:
        return self.presented_when is None or creds.authorization == self.presented_when

    def authenticate(self, creds: Credentials) -> Identity:
        if creds.authorization != self.token:
            raise Refusal(f"{self.name} refused", detail=f"{self.name} wanted {self.token}")
        return Identity(self.name, "provider", "subject", None)


def chain(*scripted: Scripted, behaviour: Behaviour | None = None, rng=None) -> Authenticators:
    setup = Setup(resolver=None, behaviour=behaviour or Behaviour())  # type: ignore[arg-type]
    registry = tuple(Registration(lambda _s, a=a: a) for a in scripted)
    return Authenticators(setup, registry, rng=rng)


def test_default_registry_order_is_oidc_okta_pingidentity_spiffe():
    setup = Setup(resolver=None, behaviour=Behaviour())  # type: ignore[arg-type]
    built = Authenticators(setup)
    assert [a.name for a in built.every] == ["oidc", "okta", "pingidentity", "spiffe"]
    assert len(REGISTRY) == 4


class Preferring(Scripted):
    """A scripted authenticator that asks to run first for one token."""

    def prefers(self, creds: Credentials) -> bool:
        return creds.authorization == self.token


def test_an_authenticator_that_prefers_the_credentials_runs_first_and_its_refusal_is_shown():
    both = chain(Scripted("general", "t"), Preferring("vendor", "t"))
    assert both.authenticate(Credentials("t", b"")).method == "vendor"
    refusing = chain(Scripted("general", "x"), Preferring("vendor", "t", presented_when="t"))
    refusing.every[1].authenticate = lambda creds: (_ for _ in ()).throw(  # type: ignore[method-assign]
        Refusal("vendor refused")
    )
    with pytest.raises(Unauthenticated) as caught:
        refusing.authenticate(Credentials("t", b""))
    assert caught.value.message == "vendor refused"
    assert caught.value.detail.startswith("vendor: vendor refused; general: ")


def test_a_registered_authenticator_is_tried_in_order_and_the_first_identity_wins():
    identity = chain(Scripted("one", "a"), Scripted("two", "b")).authenticate(Credentials("b", b""))
    assert identity.method == "two"


def test_the_refusal_shown_is_the_last_one_the_credentials_were_presented_to():
    authenticators = chain(Scripted("general", "x"), Scripted("cert", "y", presented_when="c"))
    with pytest.raises(Unauthenticated) as plain:
        authenticators.authenticate(Credentials("z", b""))
    assert (plain.value.message, plain.value.detail) == (
        "general refused",
        "general: general wanted x; cert: cert wanted y",
    )
    with pytest.raises(Unauthenticated) as with_cert:
        authenticators.authenticate(Credentials("c", b""))
    assert with_cert.value.message == "cert refused"


def test_random_authenticator_shuffles_at_the_one_step_and_shows_the_last_tried():
    scripted = [Scripted(name, "never") for name in ("a", "b", "c", "d")]
    quirky = Behaviour(quirks=("random-authenticator",))
    expected = ["a", "b", "c", "d"]
    random.Random(7).shuffle(expected)
    with pytest.raises(Unauthenticated) as caught:
        chain(*scripted, behaviour=quirky, rng=random.Random(7)).authenticate(
            Credentials(None, b"")
        )
    assert caught.value.message == f"{expected[-1]} refused"
    assert [part.split(":")[0] for part in caught.value.detail.split("; ")] == expected


def test_an_authenticator_that_prefers_other_credentials_does_not_run_at_all():
    """In the default order a vendor authenticator runs only for the tokens it prefers: for any
    other token only the general ones run, and the journal's detail names only them."""
    both = chain(Scripted("general", "x"), Preferring("vendor", "t"))
    with pytest.raises(Unauthenticated) as refused:
        both.authenticate(Credentials("y", b""))
    assert str(refused.value.body) == "general refused"
    assert refused.value.detail == "general: general wanted x"
