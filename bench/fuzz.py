"""A seeded raw-socket fuzzer for the mock's listeners (stdlib sockets only).

Every case class of the hostile-input issue is generated: valid requests (pipelined too),
chunked bodies with extensions and trailers, bad chunk sizes, unparsable request lines,
HTTP/0.9, unsupported versions and transfer codings, bad Content-Length and Host, bad header
names and values, oversized headers, bad escapes, Expect, and byte mutations of a valid
request. It counts answers >= 500, drops (a connection closed or stalled without an answer
where one is due) and tracebacks logged; all three must be 0.

    python -m bench.fuzz --requests 10000 --seed 1
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import random
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from mockserver.runtime import MockServer

PATH = "/secretstore/app-store/secrets/plain"
PROTOCOL_REFUSALS = (501, 505)
"""Go's own refusals (unsupported transfer coding, HTTP major version): expected, not errors."""


@dataclass
class Case:
    kind: str
    data: bytes
    responses: int = 1
    """How many answers a complete exchange has (pipelined requests have more)."""
    complete: bool = True
    """False when the bytes may end mid-request: only sent where the client can half-close."""


@dataclass
class Outcome:
    kind: str
    statuses: list[int]
    dropped: bool
    detail: str = ""


@dataclass
class Report:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[tuple[str, int]] = field(default_factory=list)
    refusals: int = 0
    drops: list[tuple[str, str]] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, outcome: Outcome) -> None:
        self.requests += 1
        self.statuses.update(outcome.statuses)
        for status in outcome.statuses:
            if status in PROTOCOL_REFUSALS:
                self.refusals += 1
            elif status >= 500:
                self.server_errors.append((outcome.kind, status))
        if outcome.dropped:
            self.drops.append((outcome.kind, outcome.detail))

    def merge(self, other: Report) -> None:
        self.requests += other.requests
        self.statuses.update(other.statuses)
        self.server_errors += other.server_errors
        self.refusals += other.refusals
        self.drops += other.drops
        self.tracebacks += other.tracebacks


def _request(
    method: str = "POST",
    target: str = PATH,
    version: str = "HTTP/1.1",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> bytes:
    lines = [f"{method} {target} {version}"] + [f"{k}: {v}" for k, v in headers or []]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class CaseMaker:
    """Builds cases from one seeded random source and one valid request's credentials."""

    def __init__(self, rng: random.Random, token: str, body: bytes) -> None:
        self.rng = rng
        self.token = token
        self.body = body
        self.classes: list[Callable[[], Case]] = [
            self.valid,
            self.pipelined,
            self.chunked_ok,
            self.chunked_bad,
            self.request_line,
            self.http09,
            self.version,
            self.transfer_encoding,
            self.content_length,
            self.host,
            self.header_syntax,
            self.targets,
            self.expect,
            self.mutation,
        ]

    def base_headers(self) -> list[tuple[str, str]]:
        return [
            ("Host", "127.0.0.1"),
            ("Authorization", f"Bearer {self.token}"),
            ("Content-Type", "application/json"),
        ]

    def valid_bytes(self) -> bytes:
        headers = [*self.base_headers(), ("Content-Length", str(len(self.body)))]
        return _request(headers=headers, body=self.body)

    def case(self) -> Case:
        if self.rng.random() < 0.004:
            return self.oversized()
        return self.rng.choice(self.classes)()

    def valid(self) -> Case:
        return Case("valid", self.valid_bytes())

    def pipelined(self) -> Case:
        return Case("pipelined", self.valid_bytes() * 2, responses=2)

    def _chunks(self, pieces: list[bytes]) -> bytes:
        out = b""
        for piece in pieces:
            ext = self.rng.choice([b"", b";a=b", b';name="q v"', b";x"])
            out += b"%x%s\r\n%s\r\n" % (len(piece), ext, piece)
        return out

    def chunked_ok(self) -> Case:
        cut = self.rng.randrange(1, len(self.body))
        trailer = self.rng.choice([b"", b"X-Trailer: yes\r\n", b"A: 1\r\nB: 2\r\n"])
        data = self._chunks([self.body[:cut], self.body[cut:]]) + b"0\r\n" + trailer + b"\r\n"
        headers = [*self.base_headers(), ("Transfer-Encoding", "chunked")]
        return Case("chunked-ok", _request(headers=headers) + data)

    def chunked_bad(self) -> Case:
        bad = self.rng.choice(
            [
                b"zz\r\nab\r\n0\r\n\r\n",
                b"-1\r\nab\r\n0\r\n\r\n",
                b"5\r\nab\r\nzz\r\n0\r\n\r\n",
                b"\r\nab\r\n0\r\n\r\n",
                b"11111111111111111\r\nab\r\n0\r\n\r\n",
                b"2\nab\r\n0\r\n\r\n",
                b"2\r\nabcd\r\n0\r\n\r\n",
                b"0\r\nBad Trailer\r\n\r\n",
                b"2;" + b"x" * 5000 + b"\r\nab\r\n0\r\n\r\n",
            ]
        )
        headers = [*self.base_headers(), ("Transfer-Encoding", "chunked")]
        return Case("chunked-bad", _request(headers=headers) + bad)

    def request_line(self) -> Case:
        line = self.rng.choice(
            [
                b"GET / HTTP/1.1.1",
                b"PRI * HTTP/2.0\r\n\r\nSM",
                b" ",
                b"   \t ",
                b"GET  / HTTP/1.1",
                b"GET /",
                b"G@T / HTTP/1.1",
                b"GET / HTTP/1.1 extra",
                b"\x16\x03\x01\x00\xa5\x01",
                bytes(self.rng.randrange(32, 127) for _ in range(self.rng.randrange(1, 40))),
            ]
        )
        return Case("request-line", line + b"\r\nHost: x\r\n\r\n")

    def http09(self) -> Case:
        return Case("http09", self.rng.choice([b"GET /\r\n\r\n", b"GET / HTTP/0.9\r\n\r\n"]))

    def version(self) -> Case:
        version = self.rng.choice(["HTTP/2.0", "HTTP/3.1", "HTTP/1.2", "HTTP/1.0", "HTTP/0.1"])
        headers = [*self.base_headers(), ("Content-Length", str(len(self.body)))]
        return Case("version", _request(version=version, headers=headers, body=self.body))

    def transfer_encoding(self) -> Case:
        extra = self.rng.choice(
            [
                [("Transfer-Encoding", "gzip")],
                [("Transfer-Encoding", "chunked, gzip")],
                [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")],
                [("Transfer-Encoding", "identity")],
            ]
        )
        return Case("transfer-encoding", _request(headers=[*self.base_headers(), *extra]))

    def content_length(self) -> Case:
        value = self.rng.choice(
            [["abc"], ["-1"], ["+5"], [""], ["5", "6"], [str(1 << 63)], [" 3 "], ["3", "3"]]
        )
        headers = [*self.base_headers(), *[("Content-Length", v) for v in value]]
        return Case("content-length", _request(headers=headers, body=b"abc"))

    def host(self) -> Case:
        headers = [h for h in self.base_headers() if h[0] != "Host"]
        extra = self.rng.choice([[], [("Host", "a"), ("Host", "b")], [("Host", "bad host")]])
        return Case("host", _request(headers=headers + extra, body=b""))

    def header_syntax(self) -> Case:
        raw = self.rng.choice(
            [
                b"Bad Name: x",
                b"NoColon",
                b"X-Nul: a\x00b",
                b"X-Ctl: a\x01b",
                b": empty-name",
                b"X-Long: " + b"v" * 9000,
                b"X-Fold: a\r\n  folded",
                b"X_Under: y",
            ]
        )
        head = b"GET / HTTP/1.1\r\nHost: x\r\n"
        if self.rng.random() < 0.2:
            head = b"GET / HTTP/1.1\r\n continued: x\r\nHost: x\r\n"
        return Case("header-syntax", head + raw + b"\r\n\r\n")

    def targets(self) -> Case:
        target = self.rng.choice(
            [
                "/%zz",
                "/a%2",
                "/secretstore/a%2Fb/secrets/c",
                "http://127.0.0.1" + PATH,
                "*",
                "x",
                "/é",
                "//double",
                PATH + "?pretty",
            ]
        )
        method = self.rng.choice(["POST", "GET", "OPTIONS", "HEAD", "DELETE", "get"])
        headers = [*self.base_headers(), ("Content-Length", str(len(self.body)))]
        return Case("targets", _request(method, target, headers=headers, body=self.body))

    def expect(self) -> Case:
        value = self.rng.choice(["100-continue", "foo", "100-Continue"])
        headers = [*self.base_headers(), ("Expect", value), ("Content-Length", str(len(self.body)))]
        return Case("expect", _request(headers=headers, body=self.body))

    def oversized(self) -> Case:
        return Case(
            "oversized-header", b"GET / HTTP/1.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
        )

    def mutation(self) -> Case:
        data = bytearray(self.valid_bytes())
        for _ in range(self.rng.randrange(1, 6)):
            at = self.rng.randrange(len(data))
            choice = self.rng.random()
            if choice < 0.4:
                data[at] = self.rng.randrange(256)
            elif choice < 0.7:
                del data[at]
            else:
                data.insert(at, self.rng.choice(b"\r\n :;%\x00\t"))
        return Case("mutation", bytes(data), complete=False)


def _read_responses(sock: socket.socket, want: int, deadline: float) -> tuple[list[int], bool]:
    """Statuses of the answers read (skipping 100 Continue), and whether the stream ended."""
    buffer = b""
    statuses: list[int] = []
    ended = False

    def fill() -> bool:
        nonlocal buffer, ended
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        data = sock.recv(65536)
        if not data:
            ended = True
            return False
        buffer += data
        return True

    try:
        while len(statuses) < want:
            while b"\r\n\r\n" not in buffer:
                if not fill():
                    return statuses, True
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ", 2)
            status = int(parts[1])
            if status == 100:
                continue
            statuses.append(status)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            if b"content-length" in headers:
                length = int(headers[b"content-length"])
                while len(buffer) < length and fill():
                    pass
                buffer = buffer[length:]
            elif headers.get(b"transfer-encoding") == b"chunked":
                while not buffer.endswith(b"0\r\n\r\n") and fill():
                    pass
                buffer = b""
            else:
                while fill():
                    pass
                return statuses, True
    except (TimeoutError, ValueError, IndexError):
        return statuses, ended
    except (OSError, ssl.SSLError):
        return statuses, True
    return statuses, ended


def exchange(
    port: int, case: Case, context: ssl.SSLContext | None, timeout: float = 10.0
) -> Outcome:
    """Send one case on a fresh connection and judge the answer."""
    deadline = time.monotonic() + timeout
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock: socket.socket = raw
        if context is not None:
            sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
        try:
            sock.sendall(case.data)
            if context is None:
                sock.shutdown(socket.SHUT_WR)
        except (OSError, ssl.SSLError):
            pass  # the server may answer and close before reading everything
        statuses, _ = _read_responses(sock, case.responses, deadline)
    except (OSError, ssl.SSLError) as exc:
        return Outcome(case.kind, [], True, f"{type(exc).__name__}: {case.data[:60]!r}")
    finally:
        raw.close()
    dropped = not statuses
    return Outcome(case.kind, statuses, dropped, "" if statuses else repr(case.data[:80]))


class _Tracebacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "Traceback" in record.getMessage():
            self.records.append(f"{record.name}: {record.getMessage()[:200]}")


def fuzz_server(
    server: MockServer, requests: int, seed: int, listeners: tuple[str, ...], workers: int = 8
) -> Report:
    """Fuzz a running mock's listeners with `requests` seeded cases in all."""
    alpha = next(iter(server.clusters.values()))
    token = alpha.mint("team-a/web", duration=7200)
    body = json.dumps({"ca.crt": base64.b64encode(alpha.ca.cert_pem).decode()}).encode()
    maker = CaseMaker(random.Random(seed), token, body)
    https = ssl.create_default_context(cafile=str(server.state.server_dir / "ca.crt"))
    plan: list[tuple[int, Case, ssl.SSLContext | None]] = []
    for index in range(requests):
        name = listeners[index % len(listeners)]
        case = maker.case()
        while name != "http" and not case.complete:
            case = maker.case()
        plan.append((server.listeners[name].port, case, https if name == "https" else None))
    watcher = _Tracebacks()
    logging.getLogger().addHandler(watcher)
    report = Report()
    started = time.perf_counter()
    lock = threading.Lock()
    try:
        with ThreadPoolExecutor(workers) as pool:
            for outcome in pool.map(lambda p: exchange(*p), plan):
                with lock:
                    report.add(outcome)
    finally:
        logging.getLogger().removeHandler(watcher)
    report.seconds = time.perf_counter() - started
    report.tracebacks = watcher.records + server.take_errors()
    return report


def run(requests: int, seed: int, listeners: tuple[str, ...] = ("http", "https")) -> Report:
    """Fuzz a fresh mock in default mode and one in strict mode, half the requests each."""
    total = Report()
    for strict in (False, True):
        with tempfile.TemporaryDirectory(prefix="esi-fuzz-") as state:
            server = MockServer(state_dir=state, strict=strict, refresh_volumes=False).start()
            try:
                part = fuzz_server(server, requests // 2, seed + int(strict), listeners)
            finally:
                server.stop()
        total.merge(part)
        total.seconds += part.seconds
    return total


def summary(report: Report) -> str:
    kinds = Counter(kind for kind, _ in report.server_errors)
    lines = [
        f"fuzz: {report.requests} requests in {report.seconds:.1f}s over HTTP and HTTPS, "
        f"default and strict",
        f"  answers >= 500: {len(report.server_errors)} {dict(kinds) if kinds else ''}"
        f"(Go's protocol refusals 501/505, expected: {report.refusals})",
        f"  drops: {len(report.drops)}",
        f"  tracebacks: {len(report.tracebacks)}",
        f"  statuses: {dict(sorted(report.statuses.items()))}",
    ]
    lines += [f"    drop {kind}: {detail}" for kind, detail in report.drops[:10]]
    lines += [f"    traceback {line}" for line in report.tracebacks[:10]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    report = run(args.requests, args.seed)
    print(summary(report), flush=True)
    clean = not (report.server_errors or report.drops or report.tracebacks)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
