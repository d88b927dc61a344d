"""Listeners: threaded WSGI servers whose TLS handshake runs in the worker thread.

Werkzeug's development server wraps the listening socket, so the TLS handshake happens inside
``accept()`` on the one accepting thread and a client that connects and never speaks blocks every
other client. Here the listening socket stays plain; each accepted connection is handed to a
worker thread, which performs the handshake (with a timeout), optionally checks the peer (the
SPIFFE ID allow-list: the stdlib cannot refuse a client certificate by ID inside the handshake),
and only then speaks HTTP.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

log = logging.getLogger("mockserver.serving")

PeerCheck = Callable[[ssl.SSLSocket], bool]
"""Decides, after a successful handshake, whether the peer may speak HTTP at all."""

ContextForConnection = Callable[[Any], "ssl.SSLContext | None"]
"""Called with the client address for each new TLS connection, before the handshake; a context
it returns replaces the listener's own for that one connection (TLS faults use this)."""

LogFilter = Callable[[str], str]
"""Applied to every log line a listener writes (the admin layer scrubs secrets with it)."""

HANDSHAKE_TIMEOUT = 10.0


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


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler, quiet, and closing the socket when the app drops the connection."""

    def parse_request(self) -> bool:
        """Keep the request target as sent: http.server folds a leading `//` into `/`."""
        ok = super().parse_request()
        words = self.requestline.split()
        if ok and len(words) == 3:
            self.path = words[1]
        return ok

    def send_response(self, code: int, message: str | None = None) -> None:
        """Write the status line with Go's reason phrase (`404 Not Found`); werkzeug upper-cases
        it, and clients that print the status line would show another text than the real
        server's."""
        try:
            message = HTTPStatus(code).phrase
        except ValueError:
            pass
        super().send_response(code, message)

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.server.access_log:  # type: ignore[attr-defined]
            super().log_request(code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        line = message % args if args else message
        super().log(type, "%s", self.server.log_filter(line))  # type: ignore[attr-defined]

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("%s", self.server.log_filter(format % args if args else format))  # type: ignore[attr-defined]


class _Server(ThreadedWSGIServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        tls_context: ssl.SSLContext | None,
        peer_check: PeerCheck | None,
        handshake_timeout: float,
    ) -> None:
        super().__init__(host, port, app, handler=_Handler)
        # Set after the base class so it does not wrap the listening socket; werkzeug's handler
        # still reads it to report https and the client certificate.
        self.ssl_context = tls_context
        self.peer_check = peer_check
        self.handshake_timeout = handshake_timeout
        self.access_log = False
        self.context_for_connection: ContextForConnection | None = None
        self.log_filter: LogFilter = lambda line: line

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is not None:
            request = self._handshake(request, client_address)
            if request is None:
                return
        super().process_request_thread(request, client_address)

    def _handshake(self, raw: socket.socket, client_address: Any = None) -> ssl.SSLSocket | None:
        context = self.ssl_context
        hook = self.context_for_connection
        try:
            if hook is not None:
                context = hook(client_address) or context
            raw.settimeout(self.handshake_timeout)
            tls = context.wrap_socket(raw, server_side=True)  # type: ignore[union-attr]
            tls.settimeout(None)
        except (OSError, ssl.SSLError) as exc:
            log.debug("TLS handshake failed: %s", self.log_filter(str(exc)))
            raw.close()
            return None
        if self.peer_check is not None and not self.peer_check(tls):
            _close_quietly(tls)
            return None
        return tls

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


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
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        context_for_connection: ContextForConnection | None = None,
        log_filter: LogFilter | None = None,
    ) -> None:
        self.name = name
        self.host = host
        self._server = _Server(host, port, app, ssl_context, peer_check, handshake_timeout)
        self._server.context_for_connection = context_for_connection
        if log_filter is not None:
            self._server.log_filter = log_filter
        self._thread: threading.Thread | None = None

    @property
    def context_for_connection(self) -> ContextForConnection | None:
        """The per-connection TLS context hook (see `ContextForConnection`); settable."""
        return self._server.context_for_connection

    @context_for_connection.setter
    def context_for_connection(self, hook: ContextForConnection | None) -> None:
        self._server.context_for_connection = hook

    def set_log_filter(self, log_filter: LogFilter) -> None:
        """Pass every log line of this listener through `log_filter` (e.g. a secret scrubber)."""
        self._server.log_filter = log_filter

    @property
    def port(self) -> int:
        return int(self._server.port)

    @property
    def scheme(self) -> str:
        return "http" if self._server.ssl_context is None else "https"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def set_access_log(self, on: bool) -> None:
        self._server.access_log = on

    def start(self) -> Listener:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"esi-{self.name}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
