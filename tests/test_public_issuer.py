"""Public-issuer fake clusters (`publicIssuer: true`) and the key-selection tokens they make
observable.

A public issuer serves discovery and JWKS to anyone and ignores any bearer, as the OIDC issuers
of EKS, GKE and AKS do; so a forwarded token with a wrong kid reaches the Federation Server's own
keyfunc. The 401 texts asserted over the wire are the real server's: its keyfunc
(pkg/enterprise/federation/server/auth/oidc.go at ed0c3e9: `found right store, but kid not
found in jwks`, `algorithm %v not supported`) inside golang-jwt v5's wrapping (`token is
unverifiable: error while executing keyfunc: …`, `token signature is invalid: …`)."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from mockserver.cluster import KEY_SELECTION_KINDS, FakeCluster, forbidden_body
from mockserver.manifests import ManifestError, fake_cluster_specs, parse_documents
from mockserver.tokens import TokenRequestError, decode_unverified
from tests.wire import ca_body, send

R1 = "/secretstore/app-store/secrets/plain"
KEYFUNC = "token is unverifiable: error while executing keyfunc: "
BAD_SIGNATURE = "token signature is invalid: crypto/rsa: verification error"


def body_of(text: str) -> bytes:
    return json.dumps(text).encode() + b"\n"


def get(
    cluster: FakeCluster, path: str, token: str | None, method: str = "GET"
) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(cluster.url + path, headers=headers, method=method)
    context: ssl.SSLContext = cluster.client_context()
    try:
        with urllib.request.urlopen(request, context=context) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def public() -> Iterator[FakeCluster]:
    cluster = FakeCluster(
        "pub",
        issuer="https://pub.clusters.example.test",
        key_types=("rsa", "rsa", "ec"),
        public_issuer=True,
    )
    cluster.add_service_account("apps", "reader")
    with cluster:
        yield cluster


@pytest.fixture(scope="module")
def private() -> Iterator[FakeCluster]:
    cluster = FakeCluster("priv", issuer="https://priv.clusters.example.test")
    cluster.add_service_account("apps", "reader")
    with cluster:
        yield cluster


# -- the cluster side ------------------------------------------------------------------------


@pytest.mark.parametrize("bearer", [None, "not-a-token", "broken:expired"])
def test_a_public_issuer_serves_discovery_and_jwks_to_anyone(
    public: FakeCluster, private: FakeCluster, bearer: str | None
) -> None:
    token = public.mint("apps/reader", broken="expired") if bearer == "broken:expired" else bearer
    assert get(public, "/.well-known/openid-configuration", token) == (
        200,
        public.discovery_bytes(),
    )
    assert get(public, "/openid/v1/jwks", token) == (200, public.jwks_bytes())
    # An ordinary fake cluster plays kube-apiserver: anonymous 403, a bad bearer 401.
    other = private.mint("apps/reader", broken="expired") if bearer == "broken:expired" else bearer
    assert get(private, "/openid/v1/jwks", other)[0] == (403 if bearer is None else 401)


def test_a_public_issuer_still_serves_only_get(public: FakeCluster) -> None:
    assert get(public, "/openid/v1/jwks", "anything", method="POST") == (
        403,
        forbidden_body("system:anonymous", "/openid/v1/jwks", "post"),
    )


def test_a_public_issuer_honours_every_token(public: FakeCluster, private: FakeCluster) -> None:
    assert public.honours(public.mint("apps/reader", broken="expired")) is None
    assert public.honours("garbage") is None
    assert public.authenticate_bearer("garbage") == (200, b"")
    assert private.honours("garbage") == "not a service account token"


def test_the_flag_bumps_the_state_version(private: FakeCluster) -> None:
    before = private.state_version
    private.public_issuer = True
    try:
        assert private.state_version != before
        assert private.discovery_access("garbage") == ("system:anonymous", True)
    finally:
        private.public_issuer = False
    assert private.discovery_access("garbage") == (None, False)


# -- key-selection tokens --------------------------------------------------------------------


def _signed_by(token: str, cluster: FakeCluster, kid: str) -> bool:
    _, _, signing_input, signature = decode_unverified(token)
    key: Any = next(k for k in [*cluster.keys, *cluster.keyring.retired] if k.kid == kid)
    try:
        key.public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True


def test_key_selection_tokens_name_another_key_than_the_one_that_signed(
    public: FakeCluster,
) -> None:
    rsa1, rsa2, ec = public.keys
    assert public.signing_key is rsa1
    other = public.mint("apps/reader", broken="other-key-kid")
    assert decode_unverified(other)[0] == {"alg": "RS256", "kid": rsa2.kid}
    assert _signed_by(other, public, rsa1.kid) and not _signed_by(other, public, rsa2.kid)
    other_type = public.mint("apps/reader", broken="other-type-kid")
    assert decode_unverified(other_type)[0] == {"alg": "RS256", "kid": ec.kid}
    assert _signed_by(other_type, public, rsa1.kid)
    claims = decode_unverified(other)[1]
    assert (claims["iss"], claims["sub"]) == (public.issuer, "system:serviceaccount:apps:reader")


def test_a_retired_key_token_needs_a_retired_key(public: FakeCluster) -> None:
    with pytest.raises(TokenRequestError) as refused:
        public.mint("apps/reader", broken="retired-key")
    assert str(refused.value) == "retired-key needs a retired key: rotate with retire_old first"
    before, old = public.keys, public.signing_key
    new = public.rotate_add_key("rsa")
    public.rotate_sign_with(new.kid)
    public.rotate_retire(old.kid)
    try:
        assert public.keyring.retired == [old]
        token = public.mint("apps/reader", broken="retired-key")
        assert decode_unverified(token)[0] == {"alg": "RS256", "kid": old.kid}
        assert _signed_by(token, public, old.kid)
    finally:
        public.keyring.replace(before, old.kid)
    assert public.keyring.retired == []  # a key published again leaves the list
    assert public.keys == before


def test_undoing_a_scenario_rotation_restores_the_jwks_order(public: FakeCluster) -> None:
    from conformance.runner.clusters import ClusterSet

    before, signing = public.keys, public.signing_key
    clusters = ClusterSet({"pub": public})
    try:
        clusters.rotate("pub", retire_old=True)
        assert public.keys[:2] == before[1:] and public.signing_key not in before
        clusters.undo()
    finally:
        clusters.detach()
    assert (public.keys, public.signing_key, public.keyring.retired) == (before, signing, [])


def test_a_cluster_without_the_other_keys_says_what_it_lacks(private: FakeCluster) -> None:
    with pytest.raises(TokenRequestError) as same:
        private.mint("apps/reader", broken="other-key-kid")
    assert str(same.value) == "other-key-kid needs another published rsa key"
    with pytest.raises(TokenRequestError) as other:
        private.mint("apps/reader", broken="other-type-kid")
    assert str(other.value) == "other-type-kid needs a published non-rsa key"
    assert set(KEY_SELECTION_KINDS) == {"other-key-kid", "other-type-kid", "retired-key"}


# -- manifests -------------------------------------------------------------------------------

CLUSTER = """apiVersion: harness.esi-federation.dev/v1alpha1
kind: FakeCluster
metadata: {name: pub}
spec:
  issuer: https://pub.example.test
  publicIssuer: %s
"""


def test_the_manifest_field_sets_the_kind() -> None:
    (spec,) = fake_cluster_specs(parse_documents(CLUSTER % "true", "c.yaml"))
    assert spec.public_issuer is True
    (plain,) = fake_cluster_specs(parse_documents(CLUSTER % "false", "c.yaml"))
    assert plain.public_issuer is False


def test_a_non_boolean_flag_is_one_clear_error() -> None:
    from mockserver.manifests import build_model

    with pytest.raises(ManifestError) as refused:
        build_model(parse_documents(CLUSTER % '"yes"', "c.yaml"))
    assert 'spec.publicIssuer: expected true or false, got "yes"' in str(refused.value)


# -- the embedded mock judges key selection itself (default fixtures: epsilon) ---------------


@pytest.fixture
def epsilon(mock: Any) -> Iterator[FakeCluster]:
    mock.context.resolver.clear()
    yield mock.clusters["epsilon"]
    mock.context.resolver.clear()


def r1(mock: Any, cluster: FakeCluster, broken: str | None = None) -> tuple[int, bytes]:
    token = cluster.mint("apps/reader", broken=broken)
    reply = send(mock.federation_url, "POST", R1, token, ca_body(cluster.ca.cert_pem))
    return reply.status, reply.body


@pytest.mark.parametrize(
    ("broken", "text"),
    [
        ("other-key-kid", BAD_SIGNATURE),
        ("other-type-kid", KEYFUNC + "algorithm ES256 not supported"),
        ("unknown-kid", KEYFUNC + "found right store, but kid not found in jwks"),
        ("foreign-key", BAD_SIGNATURE),
    ],
)
def test_the_mock_answers_key_selection_as_the_real_server(
    mock: Any, epsilon: FakeCluster, broken: str, text: str
) -> None:
    assert r1(mock, epsilon) == (200, b'"hello"\n')
    assert r1(mock, epsilon, broken) == (401, body_of(text))


def test_after_a_rotation_the_retired_key_is_not_found(mock: Any, epsilon: FakeCluster) -> None:
    before, old = epsilon.keys, epsilon.signing_key
    new = epsilon.rotate_add_key("rsa")
    epsilon.rotate_sign_with(new.kid)
    epsilon.rotate_retire(old.kid)
    try:
        assert r1(mock, epsilon) == (200, b'"hello"\n')
        assert r1(mock, epsilon, "retired-key") == (
            401,
            body_of(KEYFUNC + "found right store, but kid not found in jwks"),
        )
    finally:
        epsilon.keyring.replace(before, old.kid)


def test_an_ordinary_cluster_refuses_the_forwarded_token_first(mock: Any) -> None:
    """The same wrong-kid token from alpha never reaches the keyfunc's kid lookup: alpha refuses
    it as bearer, discovery fails, and the answer is the provider's `no jwks found`."""
    alpha = mock.clusters["alpha"]
    mock.context.resolver.clear()
    token = alpha.mint("team-a/web", broken="unknown-kid")
    reply = send(mock.federation_url, "POST", R1, token, ca_body(alpha.ca.cert_pem))
    assert (reply.status, reply.body) == (401, body_of(KEYFUNC + "no jwks found"))


def test_the_bundle_ca_variants_are_the_real_servers_first_block(mock: Any) -> None:
    """ca.crt holding beta's CA, then alpha's: Go's pool holds beta's only (pem.Decode)."""
    alpha, beta = mock.clusters["alpha"], mock.clusters["beta"]
    mock.context.resolver.clear()
    token = alpha.mint("team-a/web")
    ca = base64.b64encode(beta.ca.cert_pem + alpha.ca.cert_pem).decode()
    body = json.dumps({"ca.crt": ca}).encode()
    reply = send(mock.federation_url, "POST", R1, token, body)
    assert (reply.status, reply.body) == (401, body_of(KEYFUNC + "no jwks found"))
