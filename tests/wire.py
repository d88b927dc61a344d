"""A small HTTP client for tests: exact status, headers and body bytes, no retries."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
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


BIN = Path(sys.executable).parent
"""Where the project's console scripts are (the running interpreter's venv)."""


def start_serving(state: Path, *args: str) -> tuple[subprocess.Popen[str], dict]:
    """Start `esi-mock serve --state-dir STATE ARGS…` and wait for its connection.json."""
    process = subprocess.Popen(
        [str(BIN / "esi-mock"), "serve", "--state-dir", str(state), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    connection = state / "connection.json"
    deadline = time.monotonic() + 30
    while not connection.exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else "exited"
        assert time.monotonic() < deadline, "esi-mock serve did not become ready"
        time.sleep(0.02)
    return process, json.loads(connection.read_text())


def curl(*args: str) -> tuple[int, str]:
    """Run curl as a user would and return (status, body)."""
    result = subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body
