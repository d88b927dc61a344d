"""HTTP/1.x request parsing and response framing with Go net/http's rules and answers.

The real Federation Server (and kube-apiserver) is Go's `net/http`: what it refuses, and how,
is observable on the wire. This module reads a request head the way `readRequest`
(`net/http/request.go`, `server.go`, `transfer.go`, `textproto`) does, decodes chunked bodies
as `internal/chunked.go` does (RFC 9112 §7.1: extensions and trailers accepted), and writes
answers in Go's shape: handler headers sorted, then `Date`, `Content-Length`, `Content-Type`,
`Connection`, `Transfer-Encoding`; `Content-Length` when the body fits Go's 2 KiB buffer,
chunked above it. Every refusal carries Go's exact bytes (`400 Bad Request` in plain text and
a close; 431, 501, 505 and the `400 Bad Request: <reason>` forms).
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus

MAX_HEADER_BYTES = (1 << 20) + 4096
"""Go's `DefaultMaxHeaderBytes` (1 MiB) plus its 4096 bytes of bufio slop."""
BUFFER_BEFORE_CHUNKING = 2048
"""Go's `bufferBeforeChunkingSize`: a body up to this size gets a Content-Length."""
MAX_CHUNK_LINE = 4096
MAX_TRAILER_BYTES = 4096
MAX_CHUNK_OVERHEAD = 16 * 1024

_ERROR_HEADERS = b"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HOST_BYTES = frozenset(
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!$%&'()*+,-.:;=[]_~"
)
_HEX = frozenset(b"0123456789abcdefABCDEF")
_GO_STATUS_TEXT = {
    413: "Request Entity Too Large",
    414: "Request URI Too Long",
    416: "Requested Range Not Satisfiable",
    418: "I'm a teapot",
    422: "Unprocessable Entity",
}


def status_text(code: int) -> str:
    """Go's `StatusText`, or its fallback `status code N` for codes it does not name."""
    if code in _GO_STATUS_TEXT:
        return _GO_STATUS_TEXT[code]
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return f"status code {code}"


class Refusal(Exception):
    """A request Go's server refuses before any handler runs; `wire` is its exact answer."""

    def __init__(self, status: int, wire: bytes, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.wire = wire


def bad_request(detail: str = "") -> Refusal:
    """Go's plain `400 Bad Request` (no detail on the wire) or its `statusError` form."""
    if not detail:
        return Refusal(
            400, b"HTTP/1.1 400 Bad Request" + _ERROR_HEADERS + b"400 Bad Request", "bad"
        )
    text = f"400 Bad Request: {detail}".encode()
    return Refusal(400, b"HTTP/1.1 " + text + _ERROR_HEADERS + text, detail)


def malformed(reason: str) -> Refusal:
    """A parse error Go answers with the bare `400 Bad Request` (the reason stays in the log)."""
    refusal = bad_request()
    refusal.args = (reason,)
    return refusal


HEADERS_TOO_LARGE = Refusal(
    431,
    b"HTTP/1.1 431 Request Header Fields Too Large"
    + _ERROR_HEADERS
    + b"431 Request Header Fields Too Large",
    "request header too large",
)
UNSUPPORTED_TE = Refusal(
    501,
    b"HTTP/1.1 501 Not Implemented" + _ERROR_HEADERS + b"Unsupported transfer encoding",
    "unsupported transfer encoding",
)
_VERSION_TEXT = b"505 HTTP Version Not Supported: unsupported protocol version"
UNSUPPORTED_VERSION = Refusal(
    505, b"HTTP/1.1 " + _VERSION_TEXT + _ERROR_HEADERS + _VERSION_TEXT, "unsupported version"
)


class PeerGone(Exception):
    """The client closed the connection (or stayed silent past a deadline) between requests."""


class Wire:
    """A buffered reader over one connection, with an optional absolute deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.deadline: float | None = None
        self.eof = False

    def set_timeout(self, seconds: float | None) -> None:
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def fill(self) -> bool:
        """Read more bytes; False at end of stream. Raises TimeoutError past the deadline."""
        if self.eof:
            return False
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("deadline passed")
            self.sock.settimeout(remaining)
        else:
            self.sock.settimeout(None)
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            return False
        self.buffer += data
        return True

    def readline(self, limit: int) -> tuple[bytes, bool]:
        """One line with its `\\n` (or what came before the end of stream), and whether it
        stayed within `limit` bytes."""
        start = 0
        while True:
            index = self.buffer.find(b"\n", start)
            if index >= 0:
                line = bytes(self.buffer[: index + 1])
                del self.buffer[: index + 1]
                return line, len(line) <= limit
            if len(self.buffer) > limit:
                return b"", False
            start = len(self.buffer)
            if not self.fill():
                line = bytes(self.buffer)
                self.buffer.clear()
                return line, True

    def read(self, size: int) -> bytes:
        """Up to `size` bytes (fewer only at the end of stream)."""
        while len(self.buffer) < size and self.fill():
            pass
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def read_some(self, size: int) -> bytes:
        """At least one byte unless at the end of stream, at most `size`."""
        if not self.buffer:
            self.fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


@dataclass
class RequestHead:
    """A parsed request line and header section, as Go's `Request` holds them."""

    method: str
    target: str
    path: str
    query: str
    major: int
    minor: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunked: bool = False
    transfer_encoding: str = ""
    """The Transfer-Encoding as sent (kept for the journal; the body reaches apps decoded)."""
    content_length: int = 0
    wants_close: bool = False
    wants_keep_alive_10: bool = False
    h2_preface: bool = False

    @property
    def version(self) -> str:
        return f"HTTP/{self.major}.{self.minor}"

    @property
    def at_least_11(self) -> bool:
        return (self.major, self.minor) >= (1, 1)

    def get(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)

    def values(self, name: str) -> list[str]:
        lower = name.lower()
        return [v for k, v in self.headers if k.lower() == lower]


def canonical_key(name: str) -> str:
    """Go's `CanonicalHeaderKey`: `x-workload-token` → `X-Workload-Token` (tokens only)."""
    if not name or any(ord(c) > 127 or ord(c) not in _TOKEN for c in name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _http_version(proto: str) -> tuple[int, int] | None:
    """Go's `ParseHTTPVersion`: exactly `HTTP/d.d`."""
    if len(proto) != 8 or not proto.startswith("HTTP/") or proto[6] != ".":
        return None
    if not (
        proto[5].isascii() and proto[5].isdigit() and proto[7].isascii() and proto[7].isdigit()
    ):
        return None
    return int(proto[5]), int(proto[7])


def _valid_escapes(path: str) -> bool:
    """Whether every `%` starts a two-digit hex escape (`url.ParseRequestURI` refuses others)."""
    data = path.encode("latin-1")
    index = data.find(b"%")
    while index >= 0:
        if index + 3 > len(data) or data[index + 1] not in _HEX or data[index + 2] not in _HEX:
            return False
        index = data.find(b"%", index + 3)
    return True


def _split_target(target: str) -> tuple[str, str]:
    """Path and query of a request target, the way `url.ParseRequestURI` accepts it."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        raise malformed("control byte in the request target")
    if not target:
        raise malformed("empty url")
    if target == "*":
        return "*", ""
    rest = target
    if not rest.startswith("/"):
        scheme, colon, after = rest.partition(":")
        if not colon or not scheme or not scheme[0].isascii() or not scheme[0].isalpha():
            raise malformed("invalid URI for request")
        if any(not (c.isascii() and (c.isalnum() or c in "+-.")) for c in scheme):
            raise malformed("invalid URI for request")
        rest = after
        if rest.startswith("//"):
            authority_end = min(
                (i for i in (rest.find("/", 2), rest.find("?", 2)) if i >= 0), default=len(rest)
            )
            rest = rest[authority_end:]
        elif not rest.startswith("/"):
            return "", ""  # an opaque URL: Go accepts it with an empty path
    path, _, query = rest.partition("?")
    if "#" in path:
        path = path.split("#", 1)[0]
    if not _valid_escapes(path):
        raise malformed("invalid URL escape")
    return path, query


def _header_lines(wire: Wire, budget: list[int]) -> list[bytes]:
    """The raw header lines up to the blank line, continuation lines joined (obs-fold)."""
    lines: list[bytes] = []
    while True:
        line, fits = wire.readline(budget[0])
        if not fits:
            raise HEADERS_TOO_LARGE
        budget[0] -= len(line)
        if not line:
            raise malformed("unexpected end of headers")
        if not line.endswith(b"\n"):
            raise malformed("unexpected end of headers")
        line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            return lines
        if line[:1] in (b" ", b"\t"):
            if not lines:
                raise malformed("malformed MIME header initial line")
            lines[-1] = lines[-1].rstrip(b" \t") + b" " + line.strip(b" \t")
            continue
        lines.append(line)


def _parse_header(line: bytes) -> tuple[str, str]:
    name, colon, value = line.partition(b":")
    if not colon or not name or any(b not in _TOKEN for b in name):
        raise malformed("malformed MIME header line")
    value = value.strip(b" \t")
    if any((b < 0x20 and b != 0x09) or b == 0x7F for b in value):
        raise malformed("malformed MIME header line")
    return canonical_key(name.decode("latin-1")), value.decode("latin-1")


def _content_length(values: list[str]) -> int:
    first = values[0].strip(" \t")
    if any(v.strip(" \t") != first for v in values[1:]):
        raise malformed("multiple Content-Length headers")
    if not first:
        raise malformed("invalid empty Content-Length")
    if not first.isascii() or not first.isdigit() or int(first) >= 1 << 63:
        raise malformed("bad Content-Length")
    return int(first)


def _has_token(value: str | None, token: str) -> bool:
    return value is not None and any(
        part.strip(" \t").lower() == token for part in value.split(",")
    )


def read_head(
    wire: Wire, max_header_bytes: int = MAX_HEADER_BYTES, seen: list[str] | None = None
) -> RequestHead:
    """Read one request head; raise `Refusal` with Go's answer, or `PeerGone` when the
    connection ended before a request began. The request line is appended to `seen` as soon as
    it is read, so a refusal can still say what was asked."""
    budget = [max_header_bytes]
    line, fits = wire.readline(budget[0])
    if not fits:
        raise HEADERS_TOO_LARGE
    if not line:
        raise PeerGone("end of stream")
    budget[0] -= len(line)
    text = line.rstrip(b"\n")
    text = text[:-1] if text.endswith(b"\r") else text
    request_line = text.decode("latin-1")
    if seen is not None:
        seen.append(request_line)
    method, sp1, rest = request_line.partition(" ")
    target, sp2, proto = rest.partition(" ")
    if not sp1 or not sp2:
        raise malformed("malformed HTTP request")
    if not method or any(ord(c) > 127 or ord(c) not in _TOKEN for c in method):
        raise malformed("invalid method")
    version = _http_version(proto)
    if version is None:
        raise malformed("malformed HTTP version")
    path, query = _split_target(target)
    headers = [_parse_header(raw) for raw in _header_lines(wire, budget)]
    head = RequestHead(method, target, path, query, version[0], version[1], headers)
    if len(head.values("Host")) > 1:
        raise malformed("too many Host headers")
    _framing(head)
    _check_server_rules(head)
    return head


def _framing(head: RequestHead) -> None:
    """Go's `readTransfer`: Transfer-Encoding first (501), then Content-Length (400)."""
    encodings = head.values("Transfer-Encoding")
    if encodings and head.at_least_11:
        if len(encodings) != 1 or encodings[0].strip(" \t").lower() != "chunked":
            raise UNSUPPORTED_TE
        head.chunked = True
        head.transfer_encoding = encodings[0]
        head.headers = [(k, v) for k, v in head.headers if k.lower() != "content-length"]
    head.headers = [(k, v) for k, v in head.headers if k.lower() != "transfer-encoding"]
    lengths = head.values("Content-Length")
    if lengths and not head.chunked:
        head.content_length = _content_length(lengths)
    connection = head.get("Connection")
    if head.at_least_11:
        head.wants_close = _has_token(connection, "close")
    else:
        head.wants_keep_alive_10 = _has_token(connection, "keep-alive")
        head.wants_close = not head.wants_keep_alive_10
    head.h2_preface = (
        head.method == "PRI"
        and not head.headers
        and head.path == "*"
        and head.version == "HTTP/2.0"
    )
    if head.h2_preface:
        head.wants_close = True


def _check_server_rules(head: RequestHead) -> None:
    """The checks of `server.go`'s `readRequest` after parsing: 505, then the Host rules."""
    supported = head.major == 1 or (
        head.version == "HTTP/2.0" and head.method == "PRI" and head.target == "*"
    )
    if not supported:
        raise UNSUPPORTED_VERSION
    hosts = head.values("Host")
    if head.at_least_11 and not hosts and not head.h2_preface and head.method != "CONNECT":
        raise bad_request("missing required Host header")
    if len(hosts) == 1 and any(ord(c) > 127 or ord(c) not in _HOST_BYTES for c in hosts[0]):
        raise bad_request("malformed Host header")


def read_chunked(wire: Wire, limit: int) -> tuple[bytes, bool]:
    """Decode a chunked body (RFC 9112 §7.1) up to `limit` bytes: the bytes, and whether the
    whole body (and its trailer section) was read. Bad framing is Go's plain 400."""
    body = bytearray()
    excess = 0
    while True:
        line, fits = wire.readline(MAX_CHUNK_LINE)
        if not fits:
            raise malformed("chunk line too long")
        if not line.endswith(b"\r\n"):
            raise malformed("malformed chunked encoding")
        excess += len(line)
        size_text = line[:-2].split(b";", 1)[0].rstrip(b" \t")
        if not size_text or any(b not in _HEX for b in size_text) or len(size_text) > 16:
            raise malformed("invalid chunk length")
        size = int(size_text, 16)
        excess = max(excess - 16 - 2 * size, 0)
        if excess > MAX_CHUNK_OVERHEAD:
            raise malformed("chunked encoding contains too much non-data")
        if size == 0:
            _read_trailer(wire)
            return bytes(body), True
        if len(body) + size > limit:
            body += wire.read(limit - len(body))
            return bytes(body), False
        data = wire.read(size)
        if len(data) < size:
            raise malformed("unexpected end of chunked body")
        body += data
        if wire.read(2) != b"\r\n":
            raise malformed("malformed chunked encoding")


def _read_trailer(wire: Wire) -> None:
    budget = [MAX_TRAILER_BYTES]
    try:
        lines = _header_lines(wire, budget)
    except Refusal as refusal:
        if refusal.status == 431:
            raise malformed("suspiciously long trailer after chunked body") from None
        raise
    for raw in lines:
        _parse_header(raw)


# -- answers ------------------------------------------------------------------------------------


def _sniff(body: bytes) -> str:
    """A small `DetectContentType`: text stays text, anything else is octet-stream."""
    sample = body[:512]
    if sample.lstrip().startswith(b"<"):
        lowered = sample.lstrip().lower()
        if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<p", b"<h1")):
            return "text/html; charset=utf-8"
    if any(b < 0x20 and b not in (0x09, 0x0A, 0x0C, 0x0D, 0x1B) for b in sample):
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


@dataclass
class Answer:
    """What goes on the wire for one handler response, and whether the connection ends."""

    head: bytes
    body: bytes
    close: bool


def frame_answer(
    request: RequestHead,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    close: bool,
    declared_length: str | None = None,
) -> Answer:
    """Frame a handler's answer as Go's `chunkWriter.writeHeader` does."""
    is_head = request.method == "HEAD"
    body_allowed = not (100 <= status < 200 or status in (204, 304))
    given_length = next((v for k, v in headers if k.lower() == "content-length"), None)
    connection = next((v for k, v in headers if k.lower() == "connection"), None)
    handler_close = _has_token(connection, "close")
    close = close or handler_close or request.wants_close
    kept = [
        (canonical_key(k), v)
        for k, v in headers
        if k.lower() not in ("content-length", "transfer-encoding", "date")
        and not (not body_allowed and k.lower() == "content-type")
        and not (k.lower() == "connection" and close and not handler_close)
    ]
    date = next((v for k, v in headers if k.lower() == "date"), None)
    kept.sort(key=lambda kv: kv[0])
    extra: list[tuple[str, str]] = [("Date", date or formatdate(usegmt=True))]
    chunking = False
    if body_allowed:
        if declared_length is None and given_length == str(len(body)) and not is_head:
            declared_length = given_length  # Go keeps a length the handler declared
        if declared_length is not None:
            extra.append(("Content-Length", declared_length))
        elif len(body) <= BUFFER_BEFORE_CHUNKING and (body or not is_head):
            extra.append(("Content-Length", str(len(body))))
        elif is_head and not body and given_length is not None:
            extra.append(("Content-Length", given_length))
        elif not is_head and request.at_least_11:
            chunking = True
        elif not is_head:
            close = True
        if not any(k == "Content-Type" for k, _ in kept) and body:
            extra.append(("Content-Type", _sniff(body)))
    has_length = any(k == "Content-Length" for k, _ in extra)
    if (
        request.wants_keep_alive_10
        and not close
        and (is_head or has_length or not body_allowed)
        and connection is None
    ):
        extra.append(("Connection", "keep-alive"))
    if close and request.at_least_11 and not handler_close:
        extra.append(("Connection", "close"))
    if chunking:
        extra.append(("Transfer-Encoding", "chunked"))
    line = f"HTTP/1.{1 if request.at_least_11 else 0} {status:03d} {status_text(status)}\r\n"
    lines = [line] + [f"{k}: {v}\r\n" for k, v in kept + extra] + ["\r\n"]
    wire_body = b"" if is_head or not body_allowed else body
    if chunking and wire_body:
        wire_body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(wire_body), wire_body)
    elif chunking:
        wire_body = b"0\r\n\r\n"
    return Answer("".join(lines).encode("latin-1"), wire_body, close)
