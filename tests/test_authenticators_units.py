"""Unit tests of the authentication pieces through their public functions: the workload token
step (authn.py), the shared types (authenticators/base.py) and the OIDC body and header reads."""

from __future__ import annotations

import base64
import json

import pytest

from mockserver.federation.authenticators.base import (
    Credentials,
    Identity,
    KubeAttributes,
    Refusal,
)
from mockserver.federation.authenticators.oidc import KubernetesOIDC, bearer_token, read_ca_crt
from mockserver.federation.authn import workload_context
from mockserver.federation.errors import BadRequest
from mockserver.federation.modes import Behaviour

WORKLOAD = {
    "kubernetes.io": {
        "namespace": "team-a",
        "serviceaccount": {"name": "web", "uid": "sa-uid"},
        "pod": {"name": "web-0", "uid": "pod-uid"},
    }
}
OWN = KubeAttributes("own", "own-sa", "own-uid")
CALLER = Identity("oidc", "https://issuer", "system:serviceaccount:own:own-sa", OWN)


def _segment(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def unsigned_jwt(claims: dict[str, object]) -> str:
    return f"{_segment({'alg': 'RS256', 'typ': 'JWT'})}.{_segment(claims)}.c2ln"


def _verified(_parsed: object) -> None:
    return None


def test_kube_attributes_default_to_empty_strings():
    assert KubeAttributes() == KubeAttributes("", "", "", "", "")
    assert (KubeAttributes().namespace, KubeAttributes().pod_uid) == ("", "")
    assert KubeAttributes.from_claims({}) == KubeAttributes()


def test_kube_attributes_read_every_claim_and_ignore_wrong_types():
    assert KubeAttributes.from_claims(WORKLOAD) == KubeAttributes(
        "team-a", "web", "sa-uid", "web-0", "pod-uid"
    )
    odd = {"kubernetes.io": {"namespace": 7, "serviceaccount": "web", "pod": {"name": ["x"]}}}
    assert KubeAttributes.from_claims(odd) == KubeAttributes()


def test_a_refusal_is_its_message_and_its_detail_defaults_to_it():
    refusal = Refusal("token has invalid claims")
    assert (str(refusal), refusal.args, refusal.detail) == (
        "token has invalid claims",
        ("token has invalid claims",),
        "token has invalid claims",
    )
    assert Refusal("short", detail="longer").detail == "longer"


def test_no_workload_header_keeps_the_identity_s_own_workload():
    assert workload_context(None, CALLER, Behaviour(), _verified) is OWN
    assert workload_context("", CALLER, Behaviour(), _verified) is OWN


def test_a_complete_workload_token_replaces_the_identity_s_workload():
    attributes = workload_context(unsigned_jwt(WORKLOAD), CALLER, Behaviour(), _verified)
    assert attributes == KubeAttributes("team-a", "web", "sa-uid", "web-0", "pod-uid")


@pytest.mark.parametrize(
    ("drop", "claim"),
    [
        ("namespace", "kubernetes.io.namespace"),
        ("name", "kubernetes.io.serviceaccount.name"),
        ("uid", "kubernetes.io.serviceaccount.uid"),
    ],
)
def test_a_workload_token_missing_a_claim_names_it(drop, claim):
    kube = json.loads(json.dumps(WORKLOAD["kubernetes.io"]))
    if drop == "namespace":
        del kube["namespace"]
    else:
        del kube["serviceaccount"][drop]
    with pytest.raises(BadRequest) as refused:
        workload_context(unsigned_jwt({"kubernetes.io": kube}), CALLER, Behaviour(), _verified)
    assert refused.value.body == f"invalid x-workload-token: x-workload-token missing {claim}"


def test_an_unverifiable_workload_token_is_400_unless_the_quirk_accepts_it():
    token = unsigned_jwt(WORKLOAD)
    with pytest.raises(BadRequest) as refused:
        workload_context(token, CALLER, Behaviour(), lambda _p: "signed by no known cluster")
    assert refused.value.body == "invalid x-workload-token: signed by no known cluster"
    quirk = Behaviour(["unverified-workload-token"])
    assert workload_context(token, CALLER, quirk, lambda _p: "no").pod_name == "web-0"


def test_the_body_s_ca_crt_is_read_with_go_s_unmarshal():
    assert read_ca_crt(b'{"CA.CRT": "pem"}', strict=False) == "pem"
    assert read_ca_crt(b" \t\r\n", strict=True) == ""
    with pytest.raises(Refusal) as refused:
        read_ca_crt(b" ", strict=False)
    assert str(refused.value) == "unexpected end of JSON input"
    big = json.dumps({"ca.crt": "x" * 9000}).encode()
    assert read_ca_crt(big, strict=False) == "x" * 9000


def test_bearer_is_stripped_only_when_present():
    assert [bearer_token(v) for v in (None, "", "Bearer a.b.c", "a.b.c", "bearer a")] == [
        "",
        "",
        "a.b.c",
        "a.b.c",
        "bearer a",
    ]


def test_oidc_is_presented_every_credential():
    oidc = KubernetesOIDC.__new__(KubernetesOIDC)
    assert oidc.presented(Credentials(None, b"")) is True
    assert oidc.presented(Credentials("Basic x", b"{}", peer_cert_pem="pem")) is True
