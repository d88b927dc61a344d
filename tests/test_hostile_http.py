"""Hostile HTTP input: every malformed request gets Go net/http's answer, bounded resources,
and a seeded fuzz run over the real mock (HTTP and HTTPS, default and strict)."""

from __future__ import annotations

import random
import socket
import tempfile
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz import CaseMaker, Report, fuzz_server
from mockserver.http1 import Wire, read_chunked
from mockserver.runtime import MockServer
from mockserver.serving import Listener, ServingLimits

GO_400 = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Connection: close\r\n\r\n400 Bad Request"
)


def echo_app(environ, start_response):
    body = environ["wsgi.input"].read()
    text = f"{environ['REQUEST_METHOD']} {environ['REQUEST_URI']} {environ['CONTENT_LENGTH']} "
    answer = text.encode() + body
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-B", "1"), ("A-A", "2")])
    return [answer]


def big_app(environ, start_response):
    declared = [("Content-Length", "3000")] if environ["PATH_INFO"] == "/declared" else []
    start_response("200 OK", [("Content-Type", "text/plain"), *declared])
    return [b"x" * 3000]


def no_content_app(environ, start_response):
    start_response("204 No Content", [("Content-Type", "text/html; charset=utf-8")])
    return []


@pytest.fixture(scope="module")
def listener():
    with Listener(echo_app, name="hostile") as served:
        yield served


def raw(listener: Listener, data: bytes, half_close: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def without_date(answer: bytes) -> bytes:
    return b"\r\n".join(line for line in answer.split(b"\r\n") if not line.startswith(b"Date: "))


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1.1\r\nHost: x\r\n\r\n",
        b" \r\n\r\n",
        b"GET /\r\n\r\n",  # HTTP/0.9
        b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET x HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\n folded: x\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n",  # cut short, then the client half-closes
    ],
)
def test_unparsable_requests_get_gos_plain_400_and_a_close(listener, request_bytes):
    assert raw(listener, request_bytes) == GO_400


@pytest.mark.parametrize(
    ("request_bytes", "answer"),
    [
        (
            b"GET / HTTP/1.1\r\n\r\n",
            b"HTTP/1.1 400 Bad Request: missing required Host header\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
            b"400 Bad Request: missing required Host header",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: bad host\r\n\r\n",
            b"HTTP/1.1 400 Bad Request: malformed Host header\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
            b"400 Bad Request: malformed Host header",
        ),
        (
            b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
            b"HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
            b"505 HTTP Version Not Supported: unsupported protocol version",
        ),
        (
            b"GET / HTTP/0.9\r\n\r\n",
            b"HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
            b"505 HTTP Version Not Supported: unsupported protocol version",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Connection: close\r\n\r\nUnsupported transfer encoding",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
            b"HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Connection: close\r\n\r\nUnsupported transfer encoding",
        ),
    ],
)
def test_gos_protocol_refusals_are_byte_exact(listener, request_bytes, answer):
    assert raw(listener, request_bytes) == answer


def test_oversized_header_is_431(listener):
    answer = raw(
        listener, b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * ((1 << 20) + 8192) + b"\r\n\r\n"
    )
    assert answer == (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; "
        b"charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large"
    )


def test_keep_alive_answer_is_gos_shape_without_server_header(listener):
    answer = raw(listener, b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
    one = (
        b"HTTP/1.1 200 OK\r\nA-A: 2\r\nContent-Type: text/plain\r\nX-B: 1\r\n"
        b"Content-Length: 12\r\n\r\nGET /a?b=1  "
    )
    assert without_date(answer) == one * 2
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert b"Server:" not in answer and b"Connection:" not in answer


def test_connection_close_and_http10(listener):
    closing = raw(listener, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"\r\nConnection: close\r\n" in closing
    old = raw(listener, b"GET / HTTP/1.0\r\n\r\n")
    assert old.startswith(b"HTTP/1.0 200 OK\r\n") and b"Connection" not in old
    kept = raw(listener, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert b"\r\nConnection: keep-alive\r\n" in kept


@pytest.mark.parametrize(
    "chunks",
    [
        b"2;a=b\r\nhi\r\n0\r\n\r\n",
        b'2;name="q v"\r\nhi\r\n0\r\nX-Trailer: yes\r\n\r\n',
        b"1\r\nh\r\n1 \r\ni\r\n0\r\n\r\n",
    ],
)
def test_chunked_bodies_reach_the_app_plain_with_content_length(listener, chunks):
    head = b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert raw(listener, head + chunks).endswith(b"\r\n\r\nPOST /c 2 hi")


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\nhi\r\n0\r\n\r\n",
        b"-1\r\nhi\r\n0\r\n\r\n",
        b"5\r\nhi\r\n0\r\n\r\n",
        b"2\nhi\r\n0\r\n\r\n",
    ],
)
def test_bad_chunk_sizes_are_gos_400(listener, chunks):
    head = b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert raw(listener, head + chunks) == GO_400


def test_expect_continue_and_unknown_expectation(listener):
    answer = raw(
        listener,
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
    )
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    refused = raw(listener, b"POST / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n")
    assert without_date(refused) == (
        b"HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )


def test_large_bodies_are_chunked_and_204_has_no_content_type():
    with Listener(big_app) as big, Listener(no_content_app) as empty:
        answer = raw(big, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"Transfer-Encoding: chunked\r\n" in answer and b"Content-Length" not in answer
        assert answer.endswith(b"\r\nbb8\r\n" + b"x" * 3000 + b"\r\n0\r\n\r\n")
        declared = raw(big, b"GET /declared HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"Content-Length: 3000\r\n" in declared and b"Transfer-Encoding" not in declared
        head = raw(big, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert head.endswith(b"\r\n\r\n") and b"x" not in head.split(b"\r\n\r\n")[1]
        nothing = raw(empty, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert without_date(nothing) == b"HTTP/1.1 204 No Content\r\n\r\n"


def test_plain_http_on_a_tls_listener_gets_gos_hint():
    import ssl

    import trustme

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(ctx)
    with Listener(echo_app, ssl_context=ctx) as tls:
        assert raw(tls, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == (
            b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
        )


# -- bounded resources ---------------------------------------------------------------------------

TINY = ServingLimits(header_timeout=0.2, idle_timeout=0.2, max_connections=3, linger_seconds=0.1)


def wait_closed(sock: socket.socket) -> bytes:
    sock.settimeout(5)
    return sock.recv(100)


def test_header_and_idle_timeouts_close_silently():
    with Listener(echo_app, limits=TINY) as served:
        with socket.create_connection(("127.0.0.1", served.port)) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\n")  # never finishes its headers
            assert wait_closed(slow) == b""
        with socket.create_connection(("127.0.0.1", served.port)) as idle:
            idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert idle.recv(1000).startswith(b"HTTP/1.1 200 OK")
            assert wait_closed(idle) == b""  # the idle timeout ends the keep-alive connection


def test_connections_past_the_bound_get_a_clear_503():
    with Listener(echo_app, limits=TINY) as served:
        held = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(3)]
        try:
            deadline = time.monotonic() + 5
            while served.open_connections < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            answer = raw(served, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", half_close=False)
            assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
            assert b"at most 3 connections at once" in answer
        finally:
            for sock in held:
                sock.close()


# -- properties ----------------------------------------------------------------------------------


class _Bytes:
    """A socket stand-in for the chunk decoder: `recv` hands out the bytes in small pieces."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def settimeout(self, _: object) -> None:
        pass

    def recv(self, size: int) -> bytes:
        piece, self.data = self.data[:7], self.data[7:]
        return piece


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(st.binary(min_size=1, max_size=40), max_size=6),
    extension=st.sampled_from([b"", b";a=b", b";x", b';q="a b"']),
    trailer=st.sampled_from([b"", b"T: 1\r\n", b"A: 1\r\nB: 2\r\n"]),
)
def test_chunked_decoding_round_trips(pieces, extension, trailer):
    data = b"".join(b"%x%s\r\n%s\r\n" % (len(p), extension, p) for p in pieces)
    wire = Wire(_Bytes(data + b"0\r\n" + trailer + b"\r\nNEXT"))  # type: ignore[arg-type]
    assert read_chunked(wire, 1 << 20) == (b"".join(pieces), True)
    assert wire.read(10) == b"NEXT"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=200))
def test_any_bytes_get_an_answer_below_500(listener, data):
    answer = raw(listener, data)
    if data.strip(b"\r\n") or b"\n" not in data:
        assert answer[:9] in (b"HTTP/1.1 ", b"HTTP/1.0 ")
        assert int(answer[9:12]) < 500 or int(answer[9:12]) in (501, 505)


# -- the seeded fuzzer over the real mock ------------------------------------------------------


@pytest.mark.parametrize("strict", [False, True])
def test_seeded_fuzz_over_the_mock_finds_no_5xx_drops_or_tracebacks(strict):
    with tempfile.TemporaryDirectory(prefix="esi-fuzz-") as state:
        server = MockServer(state_dir=state, strict=strict, refresh_volumes=False).start()
        try:
            report: Report = fuzz_server(server, 300, seed=7 + strict, listeners=("http", "https"))
        finally:
            server.stop()
    assert report.requests == 300
    assert (report.server_errors, report.drops, report.tracebacks) == ([], [], [])
    assert report.statuses[200] > 0 and report.statuses[400] > 0


def test_case_maker_is_deterministic_per_seed():
    first = CaseMaker(random.Random(5), "t", b"{}")
    second = CaseMaker(random.Random(5), "t", b"{}")
    assert [first.case().data for _ in range(50)] == [second.case().data for _ in range(50)]


def test_the_mock_answers_head_with_the_get_length_and_the_h2_preface_with_a_close():
    limits = ServingLimits(header_timeout=1.0, idle_timeout=1.0)
    with tempfile.TemporaryDirectory(prefix="esi-head-") as state:
        server = MockServer(state_dir=state, refresh_volumes=False, serving_limits=limits).start()
        try:
            http = server.listeners["http"]
            assert all(listener.limits is limits for listener in server.listeners.values())
            post = raw(http, b"POST /secretstore/a/secrets/b HTTP/1.1\r\nHost: x\r\n\r\n")
            head = raw(http, b"HEAD /secretstore/a/secrets/b HTTP/1.1\r\nHost: x\r\n\r\n")
            assert post.startswith(b"HTTP/1.1 401 Unauthorized\r\n")
            assert without_date(head) == without_date(post).split(b"\r\n\r\n")[0] + b"\r\n\r\n"
            preface = raw(http, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            assert preface.startswith(b"HTTP/1.1 401 Unauthorized\r\n")
            assert b"\r\nConnection: close\r\n" in preface
            assert server.take_errors() == []
        finally:
            server.stop()
