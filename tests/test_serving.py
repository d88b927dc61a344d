"""Listeners: plain and TLS serving, handshakes off the accepting thread, peer checks, drops."""

from __future__ import annotations

import http.client
import socket
import ssl

import pytest
import trustme

from mockserver.serving import DropConnection, Listener


def hello_app(environ, start_response):
    if environ["PATH_INFO"] == "/drop":
        raise DropConnection("dropped on purpose")
    body = f"{environ['wsgi.url_scheme']} {environ['REQUEST_URI']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_listener(ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    with Listener(hello_app, ssl_context=ctx, name="tls", handshake_timeout=5) as listener:
        yield listener


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def get(listener: Listener, path: str, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    if context is None:
        conn = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=5)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", listener.port, timeout=5, context=context)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_plain_listener_serves_raw_path_on_an_os_chosen_loopback_port():
    with Listener(hello_app) as listener:
        assert listener.url == f"http://127.0.0.1:{listener.port}"
        assert listener.port != 0
        assert get(listener, "/a%2Fb?x=1") == (200, b"http /a%2Fb?x=1")


def test_tls_listener_reports_https(tls_listener, ca):
    assert tls_listener.url.startswith("https://127.0.0.1:")
    assert get(tls_listener, "/x", client_context(ca)) == (200, b"https /x")


def test_a_silent_client_does_not_delay_another(tls_listener, ca):
    """A client that connects and never sends a ClientHello must not block the accept loop."""
    silent = socket.create_connection(("127.0.0.1", tls_listener.port))
    try:
        for _ in range(3):
            assert get(tls_listener, "/after-silent", client_context(ca))[0] == 200
    finally:
        silent.close()


def test_failed_handshake_leaves_listener_serving(tls_listener, ca):
    untrusting = ssl.create_default_context()  # system roots only: the mock CA is unknown
    with pytest.raises(ssl.SSLCertVerificationError):
        get(tls_listener, "/", untrusting)
    assert get(tls_listener, "/still", client_context(ca)) == (200, b"https /still")


def test_peer_check_refusal_closes_without_http_response(ca):
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    seen: list[bool] = []

    def refuse(tls_socket: ssl.SSLSocket) -> bool:
        seen.append(True)
        return False

    with Listener(hello_app, ssl_context=server_ctx, peer_check=refuse) as listener:
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
            get(listener, "/", client_context(ca))
    assert seen == [True]


def test_drop_connection_gives_no_response():
    with Listener(hello_app) as listener:
        with pytest.raises(http.client.RemoteDisconnected):
            get(listener, "/drop")
        assert get(listener, "/ok") == (200, b"http /ok")


def test_ipv6_loopback_url_is_bracketed():
    with Listener(hello_app, host="::1") as listener:
        assert listener.url == f"http://[::1]:{listener.port}"
        conn = http.client.HTTPConnection("::1", listener.port, timeout=5)
        conn.request("GET", "/v6")
        assert conn.getresponse().read() == b"http /v6"
        conn.close()
