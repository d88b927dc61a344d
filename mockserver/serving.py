"""Listeners: a small HTTP/1.1 server with Go net/http's framing, in front of WSGI apps.

Why our own server rather than a patched Werkzeug: Werkzeug's development server sits on
`http.server`, which answers unparsable requests with an HTML page, serves HTTP/0.9, sends
`Server:` and `Connection: close` on every answer, reads chunked bodies lazily inside the app,
and holds one thread per idle connection with no timeout. Patching each of these means
overriding most of `BaseHTTPRequestHandler`; a parser that follows Go's `readRequest` step by
step (`mockserver.http1`) plus a connection loop is smaller and is what the real server does.

Each accepted connection runs in its own worker thread, bounded by `max_connections` (past it
a plain listener answers 503 and a TLS listener closes). The TLS handshake runs in that worker
(never on the accepting thread, so a client that connects and never speaks blocks nobody),
then an optional peer check (the SPIFFE ID allow-list; the mTLS listener hands its handshake to
`mockserver.tlsrefusal`, which asks the check inside the handshake so a refusal is a TLS alert,
as Go sends it), then HTTP/1.1 keep-alive as Go serves it: header timeout from the first byte
of each request, an idle timeout between requests.
Chunked request bodies are decoded here, so apps always see a plain body with CONTENT_LENGTH.
"""

from __future__ import annotations

import io
import logging
import select
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_to_bytes

from mockserver.http1 import (
    MAX_HEADER_BYTES,
    PeerGone,
    Refusal,
    RequestHead,
    Wire,
    frame_answer,
    read_chunked,
    read_head,
)
from mockserver.tlsrefusal import RefusingServer, TLSConnection

log = logging.getLogger("mockserver.serving")
access_log = logging.getLogger("mockserver.access")

PeerCheck = Callable[[Any], bool]
"""Decides whether the peer may speak HTTP at all, from its `getpeercert(binary_form=True)`:
after the handshake on a stdlib context, inside it with a `RefusingServer`."""

ContextForConnection = Callable[[Any], "ssl.SSLContext | None"]
"""Called with the client address for each new TLS connection, before the handshake; a context
it returns replaces the listener's own for that one connection (TLS faults use this)."""

LogFilter = Callable[[str], str]
"""Applied to every log line a listener writes (the admin layer scrubs secrets with it)."""

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


@dataclass(frozen=True)
class ServingLimits:
    """Every timeout and bound of a listener, in one place; tests pass tiny values."""

    header_timeout: float = 10.0
    """Go's `ReadHeaderTimeout`, which the real server sets to 10 s on both listeners."""
    handshake_timeout: float = 10.0
    """Go bounds the TLS handshake by the same 10 s."""
    idle_timeout: float = 120.0
    """Deviation: between requests on a keep-alive connection (Go waits forever)."""
    body_timeout: float = 60.0
    """Deviation: for reading a request body (Go has no ReadTimeout here)."""
    max_connections: int = 256
    """Deviation: open connections per listener; past it, 503 (plain) or a close (TLS)."""
    max_header_bytes: int = MAX_HEADER_BYTES
    max_buffered_body: int = (1 << 20) + 1
    """Chunked bodies are decoded up to this many bytes (the federation cap plus one, so the
    app still answers 413); the connection closes after a longer one."""
    drain_bytes: int = 256 << 10
    """Go's `maxPostHandlerReadBytes`: unread body up to this is skipped to keep the
    connection; more closes it."""
    linger_seconds: float = 1.0
    """After a closing answer, how long to read what the client still sends (so it sees the
    answer rather than a reset)."""


DEFAULT_LIMITS = ServingLimits()
HANDSHAKE_TIMEOUT = DEFAULT_LIMITS.handshake_timeout
_HTTP_ON_TLS = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
_HTTP_PREFIXES = (b"GET /", b"HEAD ", b"POST ", b"PUT /", b"OPTIO")


class DropConnection(ConnectionError):
    """Raised inside a WSGI app to close the connection without (the rest of) a response.

    The real server does this when a handler panics; faults use it to drop connections on purpose.
    """


DROP_KEY = "esi.drop_connection"
"""WSGI environ key: set it (to the reason) and the connection closes without a response."""


def request_drop(environ: dict[str, Any], reason: str) -> None:
    """Ask the listener to close this connection instead of sending the app's response.

    Frameworks turn exceptions into 500 answers, so an app asks for a drop through the environ.
    """
    environ[DROP_KEY] = reason


def drop_aware(app: Any) -> Any:
    """Wrap a WSGI app so that `request_drop` inside it closes the connection."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        result = app(environ, start_response)
        if environ.get(DROP_KEY):
            close = getattr(result, "close", None)
            if close is not None:
                close()
            raise DropConnection(environ[DROP_KEY])
        return result

    return wrapped


class _BodyStream(io.RawIOBase):
    """`wsgi.input` for a Content-Length body: reads straight from the connection, sends
    `100 Continue` before the first read when the client asked for it."""

    def __init__(self, wire: Wire, length: int, on_first_read: Callable[[], None] | None) -> None:
        super().__init__()
        self.wire = wire
        self.remaining = length
        self.failed = False
        self._on_first_read = on_first_read

    def readable(self) -> bool:
        return True

    def _begin(self) -> None:
        if self._on_first_read is not None:
            hook, self._on_first_read = self._on_first_read, None
            hook()

    def read(self, size: int | None = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        self._begin()
        want = self.remaining if size is None or size < 0 else min(size, self.remaining)
        try:
            data = self.wire.read(want)
        except (OSError, ssl.SSLError):
            data = b""
        self.remaining -= len(data)
        if len(data) < want:
            self.failed = True
            self.remaining = 0
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        line = bytearray()
        while self.remaining > 0 and (size is None or size < 0 or len(line) < size):
            byte = self.read(1)
            if not byte:
                break
            line += byte
            if byte == b"\n":
                break
        return bytes(line)


@dataclass(frozen=True)
class ServingRefusal:
    """A request this layer refused before any app ran; an app with a `record_refusal(refusal)`
    method is told of each (the journal records them)."""

    status: int
    reason: str
    answer: bytes
    """The exact bytes sent: status line, headers and body."""
    request_line: str
    """As received; empty when the refusal came before a whole line was read."""
    head: RequestHead | None
    """The parsed head, when the refusal came after it (a bad chunked body)."""


@dataclass
class _Response:
    status: int = 500
    headers: list[tuple[str, str]] | None = None
    body: bytes = b""
    cut: bool = False
    dropped: str | None = None


def _linger_close(sock: socket.socket, seconds: float) -> None:
    """Half-close, read what the client still sends for a moment, then close: a peer that is
    still writing then sees the answer instead of a reset."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + seconds
        drained = 0
        while drained < (16 << 20):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            data = sock.recv(65536)
            if not data:
                break
            drained += len(data)
    except (OSError, ValueError):
        pass
    _close_quietly(sock)


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Connection:
    """One client connection: keep-alive request loop, WSGI call, Go framing."""

    def __init__(self, listener: Listener, sock: socket.socket, address: Any) -> None:
        self.listener = listener
        self.limits = listener.limits
        self.sock = sock
        self.address = address
        self.wire = Wire(sock)
        self.last_method = ""

    def run(self) -> None:
        first = True
        while not self.listener.stopping.is_set():
            if not first and not self._await_next_request():
                return
            first = False
            self.wire.set_timeout(self.limits.header_timeout)
            if self.last_method == "POST":
                self._skip_leading_newlines()
            seen: list[str] = []
            try:
                head = read_head(self.wire, self.limits.max_header_bytes, seen)
            except PeerGone:
                return
            except Refusal as refusal:
                self.listener.refused(refusal, "".join(seen), None)
                self._send(refusal.wire)
                _linger_close(self.sock, self.limits.linger_seconds)
                return
            except (OSError, ssl.SSLError):
                return
            self.last_method = head.method
            if not self._exchange(head):
                return

    def _await_next_request(self) -> bool:
        if self.wire.buffer:
            return True
        self.wire.set_timeout(self.limits.idle_timeout)
        try:
            return self.wire.fill()
        except (OSError, ssl.SSLError):
            return False

    def _skip_leading_newlines(self) -> None:
        """Go tolerates up to four stray CR/LF after a POST body (RFC 9112 §2.2)."""
        try:
            while len(self.wire.buffer) < 4 and self.wire.fill():
                pass
        except (OSError, ssl.SSLError):
            return
        count = 0
        while count < 4 and count < len(self.wire.buffer) and self.wire.buffer[count] in b"\r\n":
            count += 1
        del self.wire.buffer[:count]

    def _send(self, data: bytes) -> bool:
        try:
            self.sock.settimeout(self.limits.body_timeout)
            self.sock.sendall(data)
            return True
        except (OSError, ssl.SSLError):
            return False

    def _exchange(self, head: RequestHead) -> bool:
        """Serve one request; whether the connection stays open."""
        expect = head.get("Expect")
        continue_wanted = False
        if expect is not None:
            tokens = [t.strip(" \t").lower() for t in expect.split(",")]
            if "100-continue" in tokens:
                continue_wanted = head.at_least_11 and (head.chunked or head.content_length > 0)
            elif expect != "":
                return self._answer(head, _Response(417, [("Connection", "close")]), close=True)
        sent_continue = [False]

        def send_continue() -> None:
            if continue_wanted and not sent_continue[0]:
                sent_continue[0] = True
                self._send(b"HTTP/1.1 100 Continue\r\n\r\n")

        stream: _BodyStream | None = None
        leftover = False
        self.wire.set_timeout(self.limits.body_timeout)
        if head.chunked:
            send_continue()
            try:
                body, complete = read_chunked(self.wire, self.limits.max_buffered_body)
            except Refusal as refusal:
                self.listener.refused(refusal, f"{head.method} {head.target} {head.version}", head)
                self._send(refusal.wire)
                _linger_close(self.sock, self.limits.linger_seconds)
                return False
            except (OSError, ssl.SSLError):
                return False
            leftover = not complete
            body_input: io.IOBase = io.BytesIO(body)
            length = len(body)
        else:
            stream = _BodyStream(self.wire, head.content_length, send_continue)
            body_input, length = stream, head.content_length
        if head.method == "OPTIONS" and head.target == "*":
            response = _Response(200, [("Content-Length", "0")])
        else:
            response = self._call_app(self._environ(head, body_input, length))
        if response.dropped is not None:
            self.listener.debug(f"connection dropped: {response.dropped}")
            if response.cut and response.headers is not None:
                self._answer(head, response, close=True, linger=False)
            _close_quietly(self.sock)
            return False
        close = leftover
        if stream is not None and (stream.remaining > 0 or stream.failed):
            # An unsent 100 Continue leaves the wire in an unknown state (Go closes then).
            unsent = continue_wanted and not sent_continue[0]
            close = close or unsent or not self._finish_body(stream)
        return self._answer(head, response, close=close)

    def _finish_body(self, stream: _BodyStream) -> bool:
        """Skip what the app left unread, as Go does; False when the connection must close."""
        if stream.failed:
            return False
        if stream.remaining > self.limits.drain_bytes:
            return False
        while stream.remaining > 0:
            if not stream.read(65536):
                return False
        return not stream.failed

    def _answer(
        self, head: RequestHead, response: _Response, close: bool, linger: bool = True
    ) -> bool:
        headers = response.headers or []
        declared = None
        if response.cut:
            declared = next((v for k, v in headers if k.lower() == "content-length"), None)
        answer = frame_answer(head, response.status, headers, response.body, close, declared)
        # Logged before the bytes leave, so whoever reads the answer can already read its line.
        self.listener.access(head, response.status, len(response.body))
        sent = self._send(answer.head + answer.body)
        if answer.close or not sent:
            if linger and sent:
                _linger_close(self.sock, self.limits.linger_seconds)
            else:
                _close_quietly(self.sock)
            return False
        return True

    def _environ(self, head: RequestHead, body: io.IOBase, length: int) -> dict[str, Any]:
        listener = self.listener
        target = head.path + ("?" + head.query if head.query else "")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": head.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(head.path).decode("latin-1"),
            "QUERY_STRING": head.query,
            "REQUEST_URI": target,
            "RAW_URI": target,
            "SERVER_NAME": listener.host,
            "SERVER_PORT": str(listener.port),
            "SERVER_PROTOCOL": head.version,
            "REMOTE_ADDR": str(self.address[0]) if self.address else "",
            "REMOTE_PORT": str(self.address[1]) if self.address else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": listener.scheme,
            "wsgi.input": body,
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "werkzeug.socket": self.sock,
            "CONTENT_LENGTH": str(length) if length or head.chunked else "",
        }
        if head.chunked:
            # Say how the body came (the journal shows requests as sent); it arrives decoded.
            environ["HTTP_TRANSFER_ENCODING"] = head.transfer_encoding
        if isinstance(self.sock, ssl.SSLSocket | TLSConnection):
            der = self.sock.getpeercert(binary_form=True)
            if der:
                environ["SSL_CLIENT_CERT"] = ssl.DER_cert_to_PEM_cert(der)
        for name, value in head.headers:
            key = name.upper().replace("-", "_")
            if "_" in name or key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
                continue  # an underscore would alias a dashed name once mapped to the environ
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
                continue
            key = "HTTP_" + key
            environ[key] = f"{environ[key]}, {value}" if key in environ else value
        return environ

    def _call_app(self, environ: dict[str, Any]) -> _Response:
        response = _Response()
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            response.status = int(status.split(None, 1)[0])
            response.headers = list(headers)
            return written.append

        result: Any = None
        try:
            result = self.listener.app(environ, start_response)
            for chunk in result:
                written.append(chunk)
        except DropConnection as drop:
            response.dropped = str(drop)
            response.cut = bool(written) and response.headers is not None
        except Exception as exc:
            # Go recovers a handler panic by logging it and closing the connection.
            log.error("%s: the app failed: %s", self.listener.name, exc, exc_info=True)
            response.dropped = f"app failed: {type(exc).__name__}"
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.error("%s: closing the app's answer failed", self.listener.name)
        if response.dropped is None and environ.get(DROP_KEY):
            response.dropped = str(environ[DROP_KEY])
        if response.dropped is None and response.headers is None:
            log.error("%s: the app returned without starting a response", self.listener.name)
            response.dropped = "no response started"
        response.body = b"".join(written)
        return response


class Listener:
    """One server socket on loopback, served from a background thread until `stop()`."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        peer_check: PeerCheck | None = None,
        name: str = "listener",
        handshake_timeout: float | None = None,
        context_for_connection: ContextForConnection | None = None,
        log_filter: LogFilter | None = None,
        limits: ServingLimits | None = None,
        refusing: RefusingServer | None = None,
    ) -> None:
        """`refusing` runs each handshake, with its own peer check inside it, unless
        `context_for_connection` picks a context for that connection (`ssl_context` then
        stays for the scheme and for those contexts)."""
        self.app = app
        self.name = name
        self.host = host
        self.limits = limits or DEFAULT_LIMITS
        if handshake_timeout is not None:
            self.limits = replace(self.limits, handshake_timeout=handshake_timeout)
        self.ssl_context = ssl_context
        self.peer_check = peer_check
        self.refusing = refusing
        self.context_for_connection = context_for_connection
        self.log_filter: LogFilter = log_filter or (lambda line: line)
        self.access_log = False
        self.stopping = threading.Event()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((host, port))
            self._socket.listen(128)
        except OSError:
            self._socket.close()
            raise
        self._port = int(self._socket.getsockname()[1])
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    # -- configuration -----------------------------------------------------------------------

    def set_log_filter(self, log_filter: LogFilter) -> None:
        """Pass every log line of this listener through `log_filter` (e.g. a secret scrubber)."""
        self.log_filter = log_filter

    def set_access_log(self, on: bool) -> None:
        """Log one line per answered request (`mockserver.access`, to stderr if unconfigured)."""
        self.access_log = on
        if on and not access_log.handlers and not logging.getLogger().handlers:
            access_log.addHandler(logging.StreamHandler(sys.stderr))
            access_log.setLevel(logging.INFO)

    @property
    def port(self) -> int:
        return self._port

    @property
    def scheme(self) -> str:
        return "http" if self.ssl_context is None else "https"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    # -- logging -----------------------------------------------------------------------------

    def debug(self, line: str) -> None:
        log.debug("%s: %s", self.name, self.log_filter(line))

    def refused(self, refusal: Refusal, request_line: str, head: RequestHead | None) -> None:
        """Log a refusal and hand it to the app's `record_refusal`, if the app has one."""
        self.debug(f"refused {refusal.status}: {refusal}")
        record = getattr(self.app, "record_refusal", None)
        if record is None:
            return
        try:
            record(ServingRefusal(refusal.status, str(refusal), refusal.wire, request_line, head))
        except Exception as exc:  # recording must not change what the client gets
            log.error("%s: recording a refusal failed: %s", self.name, exc, exc_info=True)

    def access(self, head: RequestHead, status: int, size: int) -> None:
        if not self.access_log:
            return
        peer = self.host
        line = f'{peer} - - [{formatdate(usegmt=True)}] "{head.method} {head.target} {head.version}" {status} {size}'
        access_log.info("%s", self.log_filter(line))

    # -- serving -----------------------------------------------------------------------------

    def start(self) -> Listener:
        if self._thread is None:
            self.stopping.clear()
            self._thread = threading.Thread(
                target=self._accept_loop, name=f"esi-{self.name}", daemon=True
            )
            self._thread.start()
        return self

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                ready, _, _ = select.select([self._socket], [], [], 0.05)
                if not ready:
                    continue
                sock, address = self._socket.accept()
            except (OSError, ValueError):
                if self.stopping.is_set():
                    return
                continue
            with self._lock:
                full = len(self._open) >= self.limits.max_connections
                if not full:
                    self._open.add(sock)
            if full:
                self._refuse_over_limit(sock)
                continue
            threading.Thread(
                target=self._serve, args=(sock, address), name=f"esi-{self.name}-conn", daemon=True
            ).start()

    def _refuse_over_limit(self, sock: socket.socket) -> None:
        self.debug(f"refused a connection: {self.limits.max_connections} already open")
        if self.ssl_context is None:
            text = (
                f"503 Service Unavailable: this listener serves at most "
                f"{self.limits.max_connections} connections at once; close idle ones"
            ).encode()
            try:
                sock.setblocking(False)
                sock.send(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
                    b"charset=utf-8\r\nConnection: close\r\n\r\n" + text
                )
            except OSError:
                pass
        _close_quietly(sock)

    def _serve(self, raw: socket.socket, address: Any) -> None:
        sock: Any = raw  # a socket, an ssl.SSLSocket or a TLSConnection (socket-like)
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Go's net does
            if self.ssl_context is not None:
                sock = self._handshake(raw, address)
            if sock is not None:
                _Connection(self, sock, address).run()
        except Exception as exc:  # the connection ends; the listener keeps serving
            log.error("%s: connection failed: %s", self.name, exc, exc_info=True)
        finally:
            _close_quietly(sock or raw)
            with self._lock:
                self._open.discard(raw)

    def _handshake(self, raw: socket.socket, address: Any) -> ssl.SSLSocket | TLSConnection | None:
        context = self.ssl_context
        try:
            raw.settimeout(self.limits.handshake_timeout)
            if raw.recv(5, socket.MSG_PEEK).startswith(_HTTP_PREFIXES):
                raw.sendall(_HTTP_ON_TLS)
                _linger_close(raw, self.limits.linger_seconds)
                return None
            hook = self.context_for_connection
            chosen = hook(address) if hook is not None else None
            if chosen is None and self.refusing is not None:
                return self.refusing.accept(raw, self.limits.handshake_timeout)
            context = chosen or context
            assert context is not None
            tls = context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError, ValueError) as exc:
            self.debug(f"TLS handshake failed: {exc}")
            if self.refusing is not None and isinstance(exc, ssl.SSLError):
                # Read on for a moment: closing with the client's data unread would reset the
                # connection, and the client could lose the alert just sent.
                _linger_close(raw, self.limits.linger_seconds)
            else:
                _close_quietly(raw)
            return None
        if self.peer_check is not None and not self.peer_check(tls):
            _close_quietly(tls)
            return None
        return tls

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            self._socket.close()
        except OSError:
            pass
        with self._lock:
            still_open = list(self._open)
        for sock in still_open:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except (OSError, ValueError):
                pass

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
