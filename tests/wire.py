"""A small HTTP client for tests: exact status, headers and body bytes, no retries."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def ca_body(ca_pem: bytes, **extra: object) -> bytes:
    """The JSON body a Kubernetes-token client sends: `{"ca.crt": base64(PEM)}`."""
    return json.dumps({"ca.crt": base64.b64encode(ca_pem).decode(), **extra}).encode()


def send(
    base_url: str,
    method: str,
    path: str,
    token: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
    timeout: float = 10,
) -> Reply:
    """Send one request on a fresh connection and read the whole answer."""
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=context
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    all_headers = dict(headers or {})
    if token is not None:
        all_headers.setdefault("Authorization", f"Bearer {token}")
    if body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        return Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()
