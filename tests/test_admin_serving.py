"""Listener extensions the admin layer uses: a per-connection TLS context and a log filter."""

from __future__ import annotations

import http.client
import logging
import ssl

import pytest
import trustme

from mockserver.serving import Listener


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def get(listener: Listener, context: ssl.SSLContext, path: str = "/") -> int:
    conn = http.client.HTTPSConnection("127.0.0.1", listener.port, context=context, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def test_context_for_connection_replaces_the_context_for_chosen_connections():
    good, other = trustme.CA(), trustme.CA()
    main_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    good.issue_cert("127.0.0.1").configure_cert(main_ctx)
    other_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    other.issue_cert("127.0.0.1").configure_cert(other_ctx)
    picks = [other_ctx, None]
    client = ssl.create_default_context()
    good.configure_trust(client)
    with Listener(app, ssl_context=main_ctx) as listener:
        listener.context_for_connection = lambda address: picks.pop(0) if picks else None
        with pytest.raises(ssl.SSLCertVerificationError):
            get(listener, client)
        assert get(listener, client) == 200
        assert get(listener, client) == 200


def test_log_filter_sees_every_access_log_line(caplog):
    with Listener(app, log_filter=lambda line: line.replace("s3cr3t", "[gone]")) as listener:
        listener.set_access_log(True)
        with caplog.at_level(logging.INFO, logger="mockserver.access"):
            conn = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=5)
            conn.request("GET", "/path/s3cr3t")
            assert conn.getresponse().status == 200
            conn.close()
    lines = [r.getMessage() for r in caplog.records]
    assert any('"GET /path/[gone] HTTP/1.1" 200' in line for line in lines), lines
    assert not any("s3cr3t" in line for line in lines)
