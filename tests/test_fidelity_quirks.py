"""The two real defects that became quirks in this round (docs/modes.md): one mutex across all
upstream I/O (D19) and the SPIFFE allowlist that is not reference-counted (D25)."""

from __future__ import annotations

import base64
import dataclasses
import json
import ssl
import threading

import pytest

from mockserver.federation.upstream import FETCH_TIMEOUT
from mockserver.manifests import Authorization
from mockserver.manifests.model import FederationRef, KubernetesFederation, OidcSubject
from mockserver.tls import client_context
from tests import upstream_stub
from tests.wire import Reply, ca_body, send

R1 = "/secretstore/app-store/secrets/plain"
HUNG_ISSUER = "https://hung.clusters.example.test"
SPIFFE_FRONTEND = (
    "spiffe://example.org/frontend/ns/web/sa/6f1c2a4e-1b0d-4c52-9a1e-2f3b4c5d6e07/frontend"
    "/pod/0c8e7d6a-2f3b-4a1c-8d9e-7a6b5c4d3e03/frontend-5c7d9"
)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def hung(mock, tmp_path):
    """An issuer with two stored spec copies whose API server holds every request."""
    alpha = mock.clusters["alpha"]
    leaf = alpha.ca.issue_server_cert("127.0.0.1")
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    registry = mock.context.registry
    with upstream_stub.serve(chain, leaf.private_key_pem.bytes(), tmp_path) as upstream:
        upstream.held = True
        model = registry.model
        copies = tuple(
            Authorization(
                name=f"hung-{n}",
                federation_ref=FederationRef("KubernetesFederation", "hung"),
                oidc=OidcSubject(HUNG_ISSUER, "system:serviceaccount:x:y"),
                spiffe_id=None,
            )
            for n in (1, 2)
        )
        registry.replace(
            dataclasses.replace(
                model,
                authorizations=(*model.authorizations, *copies),
                kubernetes_federations={
                    **model.kubernetes_federations,
                    "hung": KubernetesFederation("hung", upstream.url),
                },
            )
        )
        try:
            yield upstream
        finally:
            registry.reset()
            mock.context.resolver.clear()


def _call(mock, token: str, results: dict[str, Reply], name: str) -> threading.Thread:
    alpha = mock.clusters["alpha"]

    def run() -> None:
        results[name] = send(mock.federation_url, "POST", R1, token, ca_body(alpha.ca.cert_pem))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _hung_token() -> str:
    header = b64url(json.dumps({"alg": "RS256", "kid": "k"}).encode())
    claims = b64url(json.dumps({"iss": HUNG_ISSUER, "sub": "system:serviceaccount:x:y"}).encode())
    return f"{header}.{claims}.c2ln"


def test_the_upstream_timeout_is_go_client_timeout_per_spec_copy(mock):
    assert FETCH_TIMEOUT == 10.0
    assert mock.context.resolver.fetch_timeout == FETCH_TIMEOUT


def test_by_default_a_hung_issuer_stalls_only_its_own_callers(mock, hung):
    results: dict[str, Reply] = {}
    stalled = _call(mock, _hung_token(), results, "hung")
    assert hung.arrived.acquire(timeout=10)
    other = _call(mock, mock.clusters["alpha"].mint("team-a/web"), results, "other")
    other.join(timeout=10)
    assert not other.is_alive() and stalled.is_alive()
    assert results["other"].body == b'"hello"\n'
    hung.release.release()
    assert hung.arrived.acquire(timeout=10)  # the second stored copy is tried too
    hung.release.release()
    stalled.join(timeout=10)
    assert (results["hung"].status, results["hung"].body) == (
        401,
        b'"token is unverifiable: error while executing keyfunc: no jwks found"\n',
    )


def test_global_oidc_lock_stalls_every_oidc_caller_for_each_spec_copy(mock, hung):
    lock = mock.context.resolver.io_lock
    mock.behaviour.enable("global-oidc-lock")
    try:
        results: dict[str, Reply] = {}
        stalled = _call(mock, _hung_token(), results, "hung")
        assert hung.arrived.acquire(timeout=10)
        other = _call(mock, mock.clusters["alpha"].mint("team-a/web"), results, "other")
        assert lock.wait_for_waiters(1)
        hung.release.release()
        # The lock is still held: the hung issuer's second spec copy is tried next.
        assert hung.arrived.acquire(timeout=10)
        assert other.is_alive() and lock.waiting == 1 and "other" not in results
        hung.release.release()
        stalled.join(timeout=10)
        other.join(timeout=10)
    finally:
        mock.behaviour.disable("global-oidc-lock")
    assert results["hung"].status == 401
    assert results["other"].body == b'"hello"\n'


# -- D25: the TLS allowlist is a set -----------------------------------------------------------


def _mtls_r1(mock) -> Reply:
    context = client_context(
        mock.server_ca.cert_pem, client_cert=mock.spiffe.issue_svid(SPIFFE_FRONTEND)
    )
    return send(mock.connection()["federation_mtls_url"], "POST", R1, context=context)


def test_deleting_one_of_two_authorizations_sharing_a_spiffe_id(mock):
    registry = mock.context.registry
    model = registry.model
    twin = Authorization(
        name="spiffe-frontend-twin",
        federation_ref=FederationRef("SpiffeFederation", "example-org"),
        oidc=None,
        spiffe_id=SPIFFE_FRONTEND,
        allowed_cluster_secret_stores=("app-store",),
    )
    with_twin = dataclasses.replace(model, authorizations=(*model.authorizations, twin))
    try:
        registry.replace(with_twin)
        registry.replace(model)  # the twin is deleted; spiffe-frontend still names the ID
        assert _mtls_r1(mock).body == b'"hello"\n'
        mock.behaviour.enable("spiffe-allowlist-delete")
        with pytest.raises(ssl.SSLError) as refused:
            _mtls_r1(mock)
        assert refused.value.reason == "SSLV3_ALERT_BAD_CERTIFICATE"
        registry.replace(with_twin)  # a reconciled Authorization adds the ID again
        assert _mtls_r1(mock).body == b'"hello"\n'
    finally:
        mock.behaviour.disable("spiffe-allowlist-delete")
        registry.reset()
    assert _mtls_r1(mock).body == b'"hello"\n'
