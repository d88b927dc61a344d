"""The types every authenticator shares (`authenticators/base.py`): immutable values, so an
identity handed to the journal, the books and the next authenticator cannot be changed by one
of them; the workload read from Kubernetes claims; a refusal's wire text and journal detail."""

from __future__ import annotations

import dataclasses

import pytest

from mockserver.clock import CLOCK
from mockserver.federation.authenticators.base import (
    Credentials,
    Identity,
    KubeAttributes,
    Refusal,
    Setup,
)
from mockserver.federation.modes import Behaviour

WORKLOAD = KubeAttributes("team-a", "web", "sa-uid", "web-0", "pod-uid")


def test_the_shared_values_are_immutable_and_hashable():
    identity = Identity("oidc", "https://issuer", "system:serviceaccount:team-a:web", WORKLOAD)
    credentials = Credentials("Bearer t", b"{}", None)
    setup = Setup(resolver=None, behaviour=Behaviour())  # type: ignore[arg-type]
    for value, field in (
        (WORKLOAD, "namespace"),
        (identity, "subject"),
        (credentials, "body"),
        (setup, "clock"),
    ):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, "changed")
    same = Identity("oidc", "https://issuer", "system:serviceaccount:team-a:web", WORKLOAD)
    assert {identity, same} == {identity}
    assert hash(WORKLOAD) == hash(KubeAttributes("team-a", "web", "sa-uid", "web-0", "pod-uid"))
    assert len({credentials, Credentials("Bearer t", b"{}")}) == 1


def test_setup_defaults_to_the_shared_clock_and_no_extra_audiences():
    setup = Setup(resolver=None, behaviour=Behaviour())  # type: ignore[arg-type]
    assert (setup.clock, setup.extra_audiences, setup.issuer_keys) == (CLOCK, (), None)


def test_workload_attributes_come_from_the_kubernetes_io_claim():
    claims = {
        "kubernetes.io": {
            "namespace": "team-a",
            "serviceaccount": {"name": "web", "uid": "sa-uid"},
            "pod": {"name": "web-0", "uid": "pod-uid"},
        }
    }
    assert KubeAttributes.from_claims(claims) == WORKLOAD


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"kubernetes.io": "team-a"},
        {"kubernetes.io": {"namespace": 7, "serviceaccount": [], "pod": None}},
        {"kubernetes.io": {"serviceaccount": {"name": 1, "uid": None}, "pod": {"name": {}}}},
    ],
)
def test_workload_attributes_of_the_wrong_type_are_empty(claims):
    assert KubeAttributes.from_claims(claims) == KubeAttributes()
    assert KubeAttributes() == KubeAttributes("", "", "", "", "")


def test_a_refusal_is_its_wire_text_with_the_journal_detail_defaulting_to_it():
    assert (str(Refusal("unauthorized")), Refusal("unauthorized").detail) == (
        "unauthorized",
        "unauthorized",
    )
    detailed = Refusal("unauthorized", "token expired 3 s ago")
    assert (str(detailed), detailed.detail) == ("unauthorized", "token expired 3 s ago")
    assert Identity("spiffe", "example.org", "spiffe://example.org/w", None).token is None
    assert Credentials(None, b"").peer_cert_pem is None
