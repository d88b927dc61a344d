"""One federation request: URL, headers, body, TLS, timeout, the single retry after a 401.

Everything a conforming client must get right on the wire lives here (docs/protocol.md §2.7 and
§7.3): paths escaped the way Go escapes them, a fresh token per request, the JSON body
with `ca.crt` on every method, a deadline, and no automatic re-send except after a 401.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from conformance.reference_client.errors import ClientError

USER_AGENT = "esi-client/0.1"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_RETRY_DELAY = 0.5

# Go's url.escape(path, encodePath) leaves these (and the unreserved set) alone. Sending exactly
# what Go would produce keeps RawPath empty, so echo decodes every escape (server-protocol §2.1).
_GO_PATH_SAFE = "$&+,/:;=@"
_GO_SEGMENT_SAFE = "$&+,:;=@"


class RequestFailed(ClientError):
    """No usable answer arrived; the message names the request and the reason, never a secret."""


def escape_segment(value: str) -> str:
    """Escape a path segment that must stay one segment (store, namespace, kind)."""
    return quote(value, safe=_GO_SEGMENT_SAFE)


def escape_leaf(value: str) -> str:
    """Escape the last route parameter: `/` stays raw because that parameter takes the rest."""
    return quote(value, safe=_GO_PATH_SAFE)


def store_path(store: str, key: str) -> str:
    return f"/secretstore/{escape_segment(store)}/secrets/{escape_leaf(key)}"


def generator_path(namespace: str, kind: str, name: str) -> str:
    return f"/generators/{escape_segment(namespace)}/{escape_segment(kind)}/{escape_leaf(name)}"


def revoke_path(namespace: str) -> str:
    return f"/generators/{escape_segment(namespace)}/revoke"


def join_url(base_url: str, path: str) -> str:
    """Base URL (any trailing `/` removed, a path prefix kept) plus an absolute path."""
    return base_url.rstrip("/") + path


def read_token(path: Path) -> str:
    """The bearer token, re-read for every request (kubelet rotates it), one newline stripped."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RequestFailed(f"cannot read token file {path}: {error.strerror}") from None
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        raise RequestFailed(f"token file {path} is empty")
    if re.search(rb"[^\x21-\x7e]", data):
        raise RequestFailed(f"token file {path} holds whitespace, control or non-ASCII characters")
    return data.decode("ascii")


def read_ca_field(path: Path) -> str:
    """`ca.crt` for the body: standard padded base64 of the PEM file, first block a certificate."""
    try:
        pem = path.read_bytes()
    except OSError as error:
        reason = error.strerror
        raise RequestFailed(f"cannot read client-cluster CA file {path}: {reason}") from None
    first = re.search(rb"-----BEGIN ([A-Z0-9 ]+)-----", pem)
    if first is None or first.group(1) != b"CERTIFICATE":
        raise RequestFailed(
            f"client-cluster CA file {path} does not start with a PEM CERTIFICATE block"
        )
    return base64.b64encode(pem).decode("ascii")


def tls_context(
    server_ca: str | None, client_cert: Path | None = None, client_key: Path | None = None
) -> ssl.SSLContext:
    """Verify the server with `server_ca` (every certificate in the bundle), or system roots."""
    try:
        if server_ca in (None, "system"):
            context = ssl.create_default_context()
        else:
            context = ssl.create_default_context(cafile=server_ca)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if client_cert is not None:
            context.load_cert_chain(client_cert, client_key)
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise RequestFailed(f"cannot load TLS material: {reason}") from None
    return context


@dataclass(frozen=True)
class Answer:
    method: str
    path: str
    status: int
    body: bytes


@dataclass
class Transport:
    """Sends federation requests for one identity to one server."""

    base_url: str
    token_file: Path | None
    client_ca_file: Path | None
    server_ca: str | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_body: int = DEFAULT_MAX_BODY
    retry_delay: float = DEFAULT_RETRY_DELAY
    sleep: Callable[[float], None] = time.sleep
    _token: str | None = None

    def __post_init__(self) -> None:
        scheme = urlsplit(self.base_url).scheme
        if scheme not in ("http", "https"):
            raise RequestFailed(f"server URL must start with http:// or https://, got {scheme!r}")
        handlers: list[urllib.request.BaseHandler] = [
            urllib.request.ProxyHandler(),
            urllib.request.UnknownHandler(),
            urllib.request.HTTPHandler(),
        ]
        if scheme == "https":
            context = tls_context(self.server_ca, self.client_cert, self.client_key)
            handlers.append(urllib.request.HTTPSHandler(context=context))
        # No redirect handler (a redirected POST would become a GET) and no error processor
        # (every status comes back as an answer to judge).
        self._opener = urllib.request.OpenerDirector()
        for handler in handlers:
            self._opener.add_handler(handler)

    def redact(self, text: str) -> str:
        """Remove the current token from text a server sent, in case it echoes it."""
        if self._token:
            text = text.replace(self._token, "[token]")
        return text

    def call(self, method: str, path: str, extra: dict[str, str] | None = None) -> Answer:
        """Send once; repeat once, after a short delay, only when the answer is 401."""
        answer = self._send(method, path, extra)
        if answer.status == 401:
            self.sleep(self.retry_delay)
            answer = self._send(method, path, extra)
        return answer

    def _body(self, extra: dict[str, str] | None) -> bytes:
        document: dict[str, str] = {}
        if self.client_ca_file is not None:
            document["ca.crt"] = read_ca_field(self.client_ca_file)
        document.update(extra or {})
        return json.dumps(document, separators=(",", ":")).encode()

    def _send(self, method: str, path: str, extra: dict[str, str] | None) -> Answer:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if self.token_file is not None:
            self._token = read_token(self.token_file)
            headers["Authorization"] = f"Bearer {self._token}"
        body = self._body(extra)
        request = urllib.request.Request(
            join_url(self.base_url, path), data=body, headers=headers, method=method
        )
        where = f"{method} {path}"
        deadline = time.monotonic() + self.timeout
        try:
            response = self._opener.open(request, timeout=self.timeout)
            with response:
                data = self._read_limited(response, deadline, where)
                return Answer(method, path, response.status, data)
        except RequestFailed:
            raise
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as e:
            raise RequestFailed(f"{where}: {_transport_reason(e, self.timeout)}") from None

    def _read_limited(
        self, response: http.client.HTTPResponse, deadline: float, where: str
    ) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise RequestFailed(f"{where}: no complete answer within {self.timeout:g} s")
            chunk = response.read(65536)
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_body:
                raise RequestFailed(f"{where}: the answer is larger than {self.max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _transport_reason(error: BaseException, timeout: float) -> str:
    """Say why no answer arrived, in words an operator can act on."""
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        error = error.reason
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g} s (timed out)"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"the server's TLS certificate is not trusted ({error.verify_message})"
    if isinstance(error, ssl.SSLError):
        return f"TLS handshake failed ({error.reason or error})"
    if isinstance(error, http.client.RemoteDisconnected | ConnectionResetError):
        return "the server closed the connection without answering"
    if isinstance(error, http.client.IncompleteRead):
        return "the server closed the connection before the whole answer arrived"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
