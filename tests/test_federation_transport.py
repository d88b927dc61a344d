"""The three federation listeners: plain HTTP, HTTPS from the mock's server CA, SPIFFE mTLS
(docs/protocol.md §3.5; docs/modes.md, Safety deviations of the serving layer)."""

from __future__ import annotations

import socket
import ssl

import pytest

from mockserver.tls import client_context
from tests.wire import ca_body, send

SPIFFE_FRONTEND = (
    "spiffe://example.org/frontend/ns/web/sa/6f1c2a4e-1b0d-4c52-9a1e-2f3b4c5d6e07/frontend"
    "/pod/0c8e7d6a-2f3b-4a1c-8d9e-7a6b5c4d3e03/frontend-5c7d9"
)


def https_context(mock) -> ssl.SSLContext:
    return client_context(mock.server_ca.cert_pem)


def mtls_context(mock, spiffe_id: str) -> ssl.SSLContext:
    return client_context(mock.server_ca.cert_pem, client_cert=mock.spiffe.issue_svid(spiffe_id))


def test_connection_json_names_every_listener_and_file(mock):
    info = mock.connection()
    assert info["federation_url"].startswith("http://127.0.0.1:")
    assert info["federation_tls_url"].startswith("https://127.0.0.1:")
    assert info["federation_mtls_url"].startswith("https://127.0.0.1:")
    assert open(info["server_ca_file"], "rb").read() == mock.server_ca.cert_pem
    assert open(info["spiffe_bundle_file"], "rb").read() == mock.spiffe.trust_bundle_pem
    assert info["spiffe_trust_domains"] == ["example.org"]


def test_bearer_requests_work_over_https_with_the_server_ca(mock):
    alpha = mock.clusters["alpha"]
    reply = send(
        mock.connection()["federation_tls_url"],
        "POST",
        "/secretstore/app-store/secrets/plain",
        alpha.mint("team-a/web"),
        ca_body(alpha.ca.cert_pem),
        context=https_context(mock),
    )
    assert (reply.status, reply.body) == (200, b'"hello"\n')


def test_https_is_refused_by_a_client_that_does_not_trust_the_server_ca(mock):
    untrusting = client_context(mock.clusters["alpha"].ca.cert_pem)
    with pytest.raises(ssl.SSLCertVerificationError):
        send(mock.connection()["federation_tls_url"], "POST", "/", context=untrusting)


def test_allowed_svid_reads_its_store_over_mtls(mock):
    url = mock.connection()["federation_mtls_url"]
    context = mtls_context(mock, SPIFFE_FRONTEND)
    reply = send(url, "POST", "/secretstore/app-store/secrets/plain", context=context)
    assert (reply.status, reply.body) == (200, b'"hello"\n')
    generated = send(url, "POST", "/generators/team-a/UUID/uuid", context=context)
    assert generated.status == 200
    denied = send(url, "POST", "/secretstore/prod/secrets/api-token", context=context)
    assert (denied.status, denied.body) == (404, b'"Not Found"\n')


def _handshake_then_read(mock, context: ssl.SSLContext) -> tuple[str | None, bytes]:
    """Complete the TLS handshake on the mTLS port, then read before sending anything, so the
    server's answer (an alert or a close) arrives ahead of any request bytes."""
    raw = socket.create_connection(("127.0.0.1", mock.listeners["mtls"].port), timeout=10)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        return tls.version(), tls.recv(1)


def test_svid_that_no_authorization_names_gets_the_bad_certificate_alert(mock):
    """The SVID chains to the bundle; the allow-list refuses it inside the handshake, so the
    client reads the alert bad_certificate after its Finished, as from the real server."""
    context = mtls_context(mock, "spiffe://example.org/other/ns/web/sa/1/x/pod/2/y")
    with pytest.raises(ssl.SSLError) as refused:
        _handshake_then_read(mock, context)
    assert refused.value.reason == "SSLV3_ALERT_BAD_CERTIFICATE"


def test_mtls_without_a_client_certificate_fails_the_handshake(mock):
    """TLS 1.3 with a required client certificate: the server's alert is certificate_required."""
    with pytest.raises(ssl.SSLError) as refused:
        _handshake_then_read(mock, https_context(mock))
    assert refused.value.reason == "TLSV13_ALERT_CERTIFICATE_REQUIRED"


def test_allowed_svid_with_a_bad_path_is_401(mock):
    # Add a SPIFFE Authorization for an ID in SPIRE's standard /ns/<ns>/sa/<sa> form.
    from mockserver.manifests import Authorization, FederationRef

    bad_id = "spiffe://example.org/ns/web/sa/frontend"
    registry = mock.context.registry
    extra = Authorization(
        name="spire-style",
        federation_ref=FederationRef("SpiffeFederation", "example-org"),
        oidc=None,
        spiffe_id=bad_id,
        allowed_cluster_secret_stores=("app-store",),
    )
    registry.replace(registry.model.merged(type(registry.model)(authorizations=(extra,))))
    try:
        reply = send(
            mock.connection()["federation_mtls_url"],
            "POST",
            "/secretstore/app-store/secrets/plain",
            context=mtls_context(mock, bad_id),
        )
    finally:
        registry.reset()
    assert reply.status == 401
    assert reply.body == (
        b'"invalid spiffe path; should follow the pattern '
        b'/{app-name}/ns/{namespace}/sa/{saID}/{saName}/pod/{podID}/{podName}"\n'
    )


def test_spiffe_never_succeeds_on_the_plain_port(mock):
    reply = send(mock.federation_url, "POST", "/secretstore/app-store/secrets/plain")
    assert reply.status == 401


def test_a_stalled_tls_client_does_not_block_others(mock):
    silent = socket.create_connection(("127.0.0.1", mock.listeners["https"].port))
    try:
        alpha = mock.clusters["alpha"]
        reply = send(
            mock.connection()["federation_tls_url"],
            "POST",
            "/secretstore/app-store/secrets/plain",
            alpha.mint("team-a/web"),
            ca_body(alpha.ca.cert_pem),
            context=https_context(mock),
            timeout=5,
        )
        assert reply.status == 200
    finally:
        silent.close()
