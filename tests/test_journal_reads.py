"""The journal under load: a read builds outside the ring's lock and only what it returns, so a
read over large pending entries never holds up a request; bodies are kept up to the cap with
their size and SHA-256; 413 bodies are not kept; the route filter sees a first request's 401;
requests the HTTP layer refuses are journalled too."""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import threading
from urllib.parse import urlsplit

import pytest

from mockserver.admin.bodies import BODY_LIMIT, keep_body
from mockserver.admin.journal import EntryFacts, Journal, JournalQuery
from mockserver.admin.redaction import Redactor, fingerprint
from mockserver.clock import Clock
from mockserver.runtime import MockServer
from tests.wire import ca_body, send

PATH = "/secretstore/app-store/secrets/db/password"
BOUND = 10.0
"""Seconds a step may take before the test calls it blocked; a passing run never waits it."""


def facts(route: str = "secretstore", status: int = 200) -> EntryFacts:
    return EntryFacts(0.0, "http", "POST", f"/{route}", route, status, frozenset(), False)


# -- the ring ------------------------------------------------------------------------------------


def test_recording_and_summary_do_not_wait_for_an_entry_being_built():
    journal = Journal()
    building, release = threading.Event(), threading.Event()

    def slow_build() -> dict:
        building.set()
        release.wait(BOUND)
        return {"body": "built"}

    journal.add_pending(slow_build, facts())
    read: list[list[dict]] = []
    reader = threading.Thread(target=lambda: read.append(journal.entries()))
    reader.start()
    assert building.wait(BOUND)
    # The reader is inside the build: recording another request must not wait for it.
    assert journal.add_pending(lambda: {"body": "next"}, facts()) == 2
    assert journal.summary() == {"size": 1000, "count": 2, "dropped": 0}
    release.set()
    reader.join(BOUND)
    assert [e["body"] for e in read[0]] == ["built"]  # what was there when the read began
    assert [e["body"] for e in journal.entries()] == ["built", "next"]


def test_a_read_builds_only_what_it_returns_and_each_entry_once():
    journal = Journal()
    built: list[int] = []

    def builder(n: int):
        return lambda: built.append(n) or {"n": n}

    for n, route in enumerate(["secretstore", "generate", "secretstore", "secretstore"]):
        journal.add_pending(builder(n), facts(route))
    assert [e["n"] for e in journal.entries(JournalQuery(limit=1))] == [3]
    assert built == [3]
    assert [e["n"] for e in journal.entries(JournalQuery(route="generate"))] == [1]
    assert built == [3, 1]
    assert journal.get(3)["n"] == 2 and journal.get(99) is None
    assert [e["id"] for e in journal.entries()] == [1, 2, 3, 4]
    assert sorted(built) == [0, 1, 2, 3]


def test_two_readers_of_one_pending_entry_share_one_build():
    journal = Journal()
    building, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_build() -> dict:
        calls.append(1)
        building.set()
        release.wait(BOUND)
        return {"body": "once"}

    journal.add_pending(slow_build, facts())
    results: list[dict | None] = []
    first = threading.Thread(target=lambda: results.append(journal.get(1)))
    first.start()
    assert building.wait(BOUND)
    second = threading.Thread(target=lambda: results.append(journal.get(1)))
    second.start()
    release.set()
    first.join(BOUND)
    second.join(BOUND)
    assert calls == [1]
    assert results[0] is results[1]


def test_the_kept_body_is_cut_at_the_limit_with_size_and_digest():
    body = b"x" * 100
    assert keep_body(body, 200, 100, 64) == keep_body(body, 200, None, 64)
    kept = keep_body(body, 200, 100, 64)
    assert (kept.data, kept.size, kept.cut) == (b"x" * 64, 100, True)
    assert kept.sha256 == hashlib.sha256(body).hexdigest()
    assert keep_body(b"ab", 401, 2, 64).fields() == {
        "body_size": 2,
        "body_sha256": hashlib.sha256(b"ab").hexdigest(),
        "body_cut": False,
    }
    refused = keep_body(b"y" * 10, 413, 10 << 20, 64)
    assert (refused.data, refused.size, refused.sha256, refused.cut) == (b"", 10 << 20, None, True)


# -- over the wire -------------------------------------------------------------------------------


class BlockingRedactor(Redactor):
    """Scrubbing text with the marker stops until released: a journal read made slow at will."""

    MARKER = "slow-to-scrub"

    def __init__(self) -> None:
        super().__init__()
        self.scrubbing = threading.Event()
        self.release = threading.Event()

    def scrub(self, text: str) -> str:
        if self.MARKER in text and not self.release.is_set():
            self.scrubbing.set()
            self.release.wait(BOUND)
        return super().scrub(text)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    mock = MockServer(
        state_dir=tmp_path_factory.mktemp("journal-reads"), clock=Clock(), refresh_volumes=False
    )
    mock.redactor = BlockingRedactor()
    mock.start()
    yield mock
    mock.redactor.release.set()
    mock.stop()


@pytest.fixture
def mock(server):
    server.journal.clear()
    server.redactor.release.clear()  # the tests before this one released it
    server.redactor.scrubbing.clear()
    yield server
    server.redactor.release.set()
    assert server.take_errors() == []


def good_request(mock: MockServer) -> int:
    alpha = mock.clusters["alpha"]
    reply = send(
        mock.federation_url,
        "POST",
        PATH,
        alpha.mint("team-a/web"),
        ca_body(alpha.ca.cert_pem),
        timeout=BOUND,
    )
    return reply.status


def test_a_request_is_not_delayed_by_a_journal_read_over_large_pending_entries(mock):
    alpha = mock.clusters["alpha"]
    token = alpha.mint("team-a/web")
    large = ca_body(alpha.ca.cert_pem, pad=BlockingRedactor.MARKER + "a" * (512 << 10))
    for _ in range(3):
        assert send(mock.federation_url, "POST", PATH, token, large).status == 200
    admin = urlsplit(mock.admin_url)
    answers: list[int] = []

    def read_journal() -> None:
        conn = http.client.HTTPConnection(admin.hostname, admin.port, timeout=BOUND)
        conn.request("GET", "/journal")
        answers.append(conn.getresponse().status)
        conn.close()

    reader = threading.Thread(target=read_journal)
    reader.start()
    assert mock.redactor.scrubbing.wait(BOUND)
    # The read is stuck scrubbing the first large entry; a good client is served meanwhile.
    assert good_request(mock) == 200
    assert mock.journal.summary()["count"] == 4
    mock.redactor.release.set()
    reader.join(BOUND)
    assert answers == [200]
    entries = mock.admin.journal()
    assert [e["response"]["status"] for e in entries] == [200, 200, 200, 200]
    assert [e["body_cut"] for e in entries] == [True, True, True, False]


def test_an_entry_keeps_the_first_64_kib_and_the_whole_body_s_size_and_digest(mock):
    alpha = mock.clusters["alpha"]
    body = ca_body(alpha.ca.cert_pem, pad="p" * (100 << 10))
    assert send(mock.federation_url, "POST", PATH, alpha.mint("team-a/web"), body).status == 200
    small = ca_body(alpha.ca.cert_pem)
    assert send(mock.federation_url, "POST", PATH, alpha.mint("team-a/web"), small).status == 200
    cut, whole = mock.admin.journal()
    assert BODY_LIMIT == 65536
    head = body[: body.index(b'"pad": "') + 8]
    assert cut["body"].startswith('{"ca.crt": "sha256:')  # the ca.crt is fingerprinted
    assert cut["body"].endswith('", "pad": "' + "p" * (BODY_LIMIT - len(head)))
    assert (cut["body_size"], cut["body_sha256"], cut["body_cut"]) == (
        len(body),
        hashlib.sha256(body).hexdigest(),
        True,
    )
    assert (whole["body_size"], whole["body_sha256"], whole["body_cut"]) == (
        len(small),
        hashlib.sha256(small).hexdigest(),
        False,
    )
    assert json.loads(whole["body"]) == {
        "ca.crt": "sha256:" + whole["body"].split("sha256:")[1][:8]
    }


def test_a_413_body_is_not_kept(mock):
    url = urlsplit(mock.federation_url)
    size = (1 << 20) + 100
    with socket.create_connection((url.hostname, url.port), timeout=BOUND) as sock:
        sock.sendall(f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode())
        sock.sendall(b"z" * size)
        answer = sock.recv(64)
    assert answer.startswith(b"HTTP/1.1 413 ")
    [entry] = mock.admin.journal()
    assert entry["response"]["status"] == 413
    assert (entry["body"], entry["body_size"], entry["body_sha256"], entry["body_cut"]) == (
        "",
        size,
        None,
        True,
    )


def test_the_route_filter_shows_the_401_a_first_request_gets(mock):
    alpha = mock.clusters["alpha"]
    assert send(mock.federation_url, "POST", PATH, None, ca_body(alpha.ca.cert_pem)).status == 401
    assert good_request(mock) == 200
    found = mock.admin.journal(route="secretstore")
    assert [(e["route"], e["response"]["status"]) for e in found] == [
        ("secretstore", 401),
        ("secretstore", 200),
    ]
    assert [e["id"] for e in mock.admin.journal(route="secretstore", status="401")] == [
        found[0]["id"]
    ]


def raw_exchange(mock: MockServer, data: bytes) -> bytes:
    url = urlsplit(mock.federation_url)
    with socket.create_connection((url.hostname, url.port), timeout=BOUND) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


def test_requests_the_http_layer_refuses_are_journalled(mock):
    answer = raw_exchange(mock, b"GET /secretstore/a%zz/secrets/b HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    chunked = (
        b"POST /secretstore/s/secrets/k HTTP/1.1\r\nHost: x\r\nX-Trace: t1\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"
    )
    assert raw_exchange(mock, chunked).startswith(b"HTTP/1.1 400 Bad Request\r\n")
    escape, chunk = mock.admin.journal()
    assert (escape["method"], escape["path"], escape["route"]) == (
        "GET",
        "/secretstore/a%zz/secrets/b",
        None,
    )
    assert escape["response"]["status"] == 400
    assert escape["response"]["body"] == "400 Bad Request"
    assert escape["response"]["headers"] == {
        "Content-Type": "text/plain; charset=utf-8",
        "Connection": "close",
    }
    assert escape["error"] == "refused by the HTTP layer: invalid URL escape"
    assert (chunk["method"], chunk["path"], chunk["route"]) == (
        "POST",
        "/secretstore/s/secrets/k",
        "secretstore",
    )
    assert chunk["headers"]["X-Trace"] == "t1"
    assert chunk["response"]["status"] == 400
    assert chunk["error"].startswith("refused by the HTTP layer: ")


def test_a_non_utf8_body_is_shown_escaped_with_its_secrets_fingerprinted(mock):
    alpha = mock.clusters["alpha"]
    token = alpha.mint("team-a/web")
    body = b"\xff\xfe" + token.encode() + b" caf\xc3\xa9 \xe6\x9d"
    assert send(mock.federation_url, "POST", PATH, token, body).status == 401
    [entry] = mock.admin.journal()
    assert entry["body"] == f"\\xff\\xfe{fingerprint(token)} café \\xe6\\x9d"
    assert (entry["body_size"], entry["body_cut"]) == (len(body), False)
