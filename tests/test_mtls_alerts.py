"""A refused mTLS client gets the TLS alert the real server (Go crypto/tls) sends, not a silent
close: `bad_certificate` for an SVID outside the allow-list or one that does not chain to the
trust bundle, `certificate_required` for no certificate under TLS 1.3 (docs/modes.md)."""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading

import pytest

from mockserver.serving import Listener, ServingLimits
from mockserver.tls import CertificateAuthority, SpiffeAuthority, client_context, server_context
from mockserver.tlsrefusal import RefusingServer
from tests.test_federation_transport import SPIFFE_FRONTEND
from tests.wire import send

OTHER = "spiffe://example.org/other/ns/web/sa/1/x/pod/2/y"
R1 = "/secretstore/app-store/secrets/plain"


def _svid_context(mock, spiffe_id: str, authority: SpiffeAuthority | None = None, tls12=False):
    svid = (authority or mock.spiffe).issue_svid(spiffe_id)
    context = client_context(mock.server_ca.cert_pem, client_cert=svid)
    if tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def _connect(port: int, context: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        return context.wrap_socket(raw, server_hostname="127.0.0.1")
    except BaseException:
        raw.close()
        raise


def _first_read_error(port: int, context: ssl.SSLContext) -> tuple[str | None, ssl.SSLError]:
    """TLS 1.3: the handshake completes on the client's side; the alert is the first read."""
    with _connect(port, context) as tls:
        version = tls.version()
        with pytest.raises(ssl.SSLError) as refused:
            tls.recv(1)
    return version, refused.value


def _spiffe_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mockserver.spiffe"]


def test_svid_outside_the_allow_list_gets_bad_certificate_under_tls13(mock, caplog):
    port = mock.listeners["mtls"].port
    with caplog.at_level(logging.WARNING, logger="mockserver.spiffe"):
        version, error = _first_read_error(port, _svid_context(mock, OTHER))
    assert version == "TLSv1.3"
    assert error.reason == "SSLV3_ALERT_BAD_CERTIFICATE"
    assert "alert bad certificate" in str(error)
    assert _spiffe_lines(caplog) == [
        f"mTLS: refused SVID {OTHER}: no Authorization names it (spec.subject.spiffe.spiffeID)"
    ]


def test_svid_outside_the_allow_list_fails_the_tls12_handshake_with_bad_certificate(mock):
    with pytest.raises(ssl.SSLError) as refused:
        _connect(mock.listeners["mtls"].port, _svid_context(mock, OTHER, tls12=True))
    assert refused.value.reason == "SSLV3_ALERT_BAD_CERTIFICATE"


def test_svid_from_an_unknown_ca_gets_bad_certificate_before_the_allow_list(mock, caplog):
    """Go's VerifyPeerCertificate (the bundle) fails first; its alert is bad_certificate too,
    and the allow-list is never asked (no log line)."""
    stranger = SpiffeAuthority("example.org")
    context = _svid_context(mock, SPIFFE_FRONTEND, authority=stranger)
    with caplog.at_level(logging.DEBUG, logger="mockserver.spiffe"):
        version, error = _first_read_error(mock.listeners["mtls"].port, context)
    assert (version, error.reason) == ("TLSv1.3", "SSLV3_ALERT_BAD_CERTIFICATE")
    assert _spiffe_lines(caplog) == []


def test_no_client_certificate_under_tls12_gets_openssls_handshake_failure(mock):
    """A pinned deviation: Go 1.25 sends bad_certificate here, OpenSSL handshake_failure."""
    context = client_context(mock.server_ca.cert_pem)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError) as refused:
        _connect(mock.listeners["mtls"].port, context)
    assert refused.value.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"


def test_allowed_svid_keeps_its_connection_alive_over_tls12_and_tls13(mock):
    for tls12 in (False, True):
        port = mock.listeners["mtls"].port
        conn = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=10, context=_svid_context(mock, SPIFFE_FRONTEND, tls12=tls12)
        )
        try:
            answers = []
            for _ in range(2):
                conn.request("POST", R1)
                response = conn.getresponse()
                answers.append((response.status, response.read()))
            assert conn.sock is not None
            assert conn.sock.version() == ("TLSv1.2" if tls12 else "TLSv1.3")
        finally:
            conn.close()
        assert answers == [(200, b'"hello"\n')] * 2


@pytest.mark.parametrize("tls12", [False, True], ids=["tls13", "tls12"])
def test_a_session_is_never_resumed_so_the_allow_list_is_asked_each_time(mock, tls12):
    context = _svid_context(mock, SPIFFE_FRONTEND, tls12=tls12)
    port = mock.listeners["mtls"].port
    with _connect(port, context) as first:
        first.sendall(b"POST /secretstore/app-store/secrets/plain HTTP/1.1\r\nHost: x\r\n\r\n")
        assert first.recv(12) == b"HTTP/1.1 200"  # TLS 1.3 tickets would have come by now
        session = first.session
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with context.wrap_socket(raw, server_hostname="127.0.0.1", session=session) as second:
        assert second.session_reused is False


def test_a_silent_client_on_the_mtls_port_does_not_block_an_allowed_one(mock):
    silent = socket.create_connection(("127.0.0.1", mock.listeners["mtls"].port))
    try:
        context = _svid_context(mock, SPIFFE_FRONTEND)
        reply = send(mock.connection()["federation_mtls_url"], "POST", R1, context=context)
        assert (reply.status, reply.body) == (200, b'"hello"\n')
    finally:
        silent.close()


def _echo_cert(environ, start_response):
    body = environ.get("SSL_CLIENT_CERT", "none").encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(scope="module")
def spiffe():
    return SpiffeAuthority("example.org")


@pytest.fixture(scope="module")
def server_ca():
    return CertificateAuthority.create()


def _listener(
    server_ca, spiffe, decide, limits: ServingLimits | None = None, name: str = "t"
) -> Listener:
    """A listener whose handshakes run through a RefusingServer; `ssl_context` (for the scheme
    and fault contexts) is the stdlib context the mock built before."""
    leaf = server_ca.issue_server_cert("127.0.0.1")
    refusing = RefusingServer(leaf, spiffe.trust_bundle_pem, decide)
    stdlib = server_context(leaf, require_client_cert_from=spiffe)
    return Listener(_echo_cert, ssl_context=stdlib, refusing=refusing, name=name, limits=limits)


def test_listener_with_a_refusing_server_asks_the_check_once_and_hands_the_cert_to_the_app(
    spiffe, server_ca
):
    asked: list[bytes] = []

    def decide(peer) -> bool:
        asked.append(peer.getpeercert(binary_form=True))
        return len(asked) == 1  # the first connection passes, the second is refused

    cert, key = spiffe.issue_svid("spiffe://example.org/app")
    context = client_context(server_ca, client_cert=(cert, key))
    with _listener(server_ca, spiffe, decide) as listener:
        assert listener.url.startswith("https://")
        conn = http.client.HTTPSConnection("127.0.0.1", listener.port, timeout=10, context=context)
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, cert)
        finally:
            conn.close()
        version, error = _first_read_error(listener.port, context)
        assert (version, error.reason) == ("TLSv1.3", "SSLV3_ALERT_BAD_CERTIFICATE")
    assert asked == [ssl.PEM_cert_to_DER_cert(cert.decode())] * 2


def test_a_check_that_raises_refuses_with_bad_certificate(spiffe, server_ca):
    def broken(peer) -> bool:
        raise RuntimeError("no registry")

    context = client_context(server_ca, client_cert=spiffe.issue_svid("spiffe://example.org/a"))
    with _listener(server_ca, spiffe, broken) as listener:
        version, error = _first_read_error(listener.port, context)
    assert (version, error.reason) == ("TLSv1.3", "SSLV3_ALERT_BAD_CERTIFICATE")


def test_a_client_that_stalls_in_the_handshake_is_dropped_after_the_handshake_timeout(
    spiffe, server_ca
):
    limits = ServingLimits(handshake_timeout=0.2)
    context = client_context(server_ca, client_cert=spiffe.issue_svid("spiffe://example.org/a"))
    with _listener(server_ca, spiffe, lambda peer: True, limits) as listener:
        stalled = socket.create_connection(("127.0.0.1", listener.port), timeout=5)
        try:
            stalled.sendall(b"\x16\x03\x01")  # the start of a record, then nothing
            assert stalled.recv(1) == b""  # the server gives up and closes
        finally:
            stalled.close()
        with _connect(listener.port, context) as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert tls.recv(12) == b"HTTP/1.1 200"


def _sized(environ, start_response):
    body = environ["wsgi.input"].read()
    answer = b"x" * int(environ["QUERY_STRING"] or 0)
    start_response("200 OK", [("Content-Length", str(len(answer))), ("X-Got", str(len(body)))])
    return [answer]


def test_large_bodies_cross_a_refusing_listener_both_ways(spiffe, server_ca):
    leaf = server_ca.issue_server_cert("127.0.0.1")
    refusing = RefusingServer(leaf, spiffe.trust_bundle_pem, lambda peer: True)
    stdlib = server_context(leaf, require_client_cert_from=spiffe)
    context = client_context(server_ca, client_cert=spiffe.issue_svid("spiffe://example.org/a"))
    with Listener(_sized, ssl_context=stdlib, refusing=refusing) as listener:
        conn = http.client.HTTPSConnection("127.0.0.1", listener.port, timeout=10, context=context)
        try:
            conn.request("POST", "/?3000000", body=b"y" * 900_000)
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
    assert (response.status, response.getheader("X-Got"), len(body)) == (200, "900000", 3_000_000)


def test_plain_http_on_the_mtls_port_gets_gos_400(mock):
    with socket.create_connection(("127.0.0.1", mock.listeners["mtls"].port), timeout=10) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer == (
        b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
    )


def test_stop_ends_an_idle_keep_alive_connection(spiffe, server_ca):
    """The worker waits in `select` on the raw socket; `stop()` shuts that socket, so the
    worker ends now rather than after the 120 s idle timeout."""
    context = client_context(server_ca, client_cert=spiffe.issue_svid("spiffe://example.org/a"))
    listener = _listener(server_ca, spiffe, lambda peer: True, name="idle-stop").start()
    with _connect(listener.port, context) as tls:
        try:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert tls.recv(12) == b"HTTP/1.1 200"
            workers = [t for t in threading.enumerate() if t.name == "esi-idle-stop-conn"]
            assert len(workers) == 1
        finally:
            listener.stop()
        workers[0].join(timeout=5)
        assert not workers[0].is_alive()
        assert listener.open_connections == 0
