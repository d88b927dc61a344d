"""One request on a fresh connection, with the raw path on the wire, and what came back.

The outcome tells a refused handshake and a dropped connection apart from a response; failing to
reach the target at all raises `Unreachable`, which the runner reports as ERROR (the set-up is
broken), while a dropped connection where an answer was due is the target's FAIL.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TIMEOUT = 10.0


class Unreachable(ConnectionError):
    """Nothing listens at the target address (or it never accepted the connection)."""


@dataclass(frozen=True)
class Answer:
    """What the wire gave: `response` with status, headers and body, or no response at all."""

    outcome: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    detail: str = ""


def send(
    base_url: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    context: ssl.SSLContext | None = None,
    mtls: bool = False,
    timeout: float = TIMEOUT,
) -> Answer:
    """Send exactly these headers and body bytes to `path` (not re-encoded) at `base_url`."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    try:
        raw = socket.create_connection(
            (host, port or (443 if parts.scheme == "https" else 80)), timeout=timeout
        )
    except OSError as exc:
        raise Unreachable(f"cannot connect to {base_url}: {exc}") from exc
    sock: socket.socket = raw
    if parts.scheme == "https":
        assert context is not None
        try:
            sock = context.wrap_socket(raw, server_hostname=host)
        except (ssl.SSLError, OSError) as exc:
            raw.close()
            return Answer("handshake-refused", detail=f"TLS handshake failed: {exc}")
    try:
        return _exchange(sock, host, port, method, path, headers, body, mtls)
    finally:
        sock.close()


def _exchange(
    sock: socket.socket,
    host: str,
    port: int | None,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    mtls: bool,
) -> Answer:
    conn = http.client.HTTPConnection(host, port)
    conn.sock = sock
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if body or method not in ("GET", "HEAD"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        response = conn.getresponse()
        data = response.read()
        return Answer("response", response.status, {k: v for k, v in response.getheaders()}, data)
    except TimeoutError:
        return Answer("no-response", detail="no answer within the timeout")
    except (
        ssl.SSLError,
        http.client.RemoteDisconnected,
        ConnectionError,
        http.client.IncompleteRead,
        http.client.BadStatusLine,
    ) as exc:
        # On the mTLS port TLS 1.3 refuses a client certificate after the client's Finished, so
        # the first sign of it is the alert (bad_certificate, certificate_required) on the first
        # read, or a closed connection: the suite counts either as a refused handshake.
        kind = "handshake-refused" if mtls else "no-response"
        return Answer(kind, detail=f"connection closed without a response: {exc!r}")
    finally:
        conn.sock = None
