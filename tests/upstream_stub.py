"""A stand-in Kubernetes API server for upstream tests: HTTPS on 127.0.0.1:0 with a given
certificate chain, canned discovery and JWKS answers, recorded request headers, and a gate that
holds answers until the test releases them."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mockserver.manifests import Authorization
from mockserver.manifests.model import FederationRef, KubernetesFederation, OidcSubject

DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/openid/v1/jwks"


class Upstream:
    """What the stub answers and what it saw."""

    def __init__(self) -> None:
        self.jwks_body: bytes = b'{"keys":[]}'
        self.jwks_headers: dict[str, str] = {}
        self.requests: list[dict[str, Any]] = []
        self.held = False
        self.arrived = threading.Semaphore(0)
        self.release = threading.Semaphore(0)
        self.url = ""

    def answer(self, path: str) -> tuple[bytes, dict[str, str]]:
        if path == DISCOVERY:
            return json.dumps({"issuer": "x", "jwks_uri": f"https://elsewhere{JWKS}"}).encode(), {}
        if path == JWKS:
            return self.jwks_body, self.jwks_headers
        return b'{"kind":"Status","code":404}', {}


def _handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            upstream.requests.append(
                {"path": self.path, "headers": [(k, v) for k, v in self.headers.items()]}
            )
            if upstream.held:
                upstream.arrived.release()
                upstream.release.acquire()
                self.close_connection = True
                return  # no answer: the client sees the connection close
            body, extra = upstream.answer(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@contextmanager
def serve(cert_chain_pem: bytes, key_pem: bytes, tmp_path: Any) -> Iterator[Upstream]:
    """Serve HTTPS with `cert_chain_pem` (leaf first) until the block ends."""
    upstream = Upstream()
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    chain.write_bytes(cert_chain_pem)
    key.write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream))
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    upstream.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        upstream.held = False
        for _ in range(8):
            upstream.release.release()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextlib.contextmanager
def extra_specs(mock, *refs: tuple[str, str | None], first: bool = True) -> Iterator[None]:
    """Add one Authorization per (name, url) for alpha's issuer and team-a/web; url None makes a
    dangling federationRef. `first` puts them before the fixtures' Authorizations."""
    registry = mock.context.registry
    model = registry.model
    issuer = mock.clusters["alpha"].issuer
    federations = dict(model.kubernetes_federations)
    added = []
    for name, url in refs:
        if url is not None:
            federations[name] = KubernetesFederation(name, url)
        added.append(
            Authorization(
                name=f"{name}-web",
                federation_ref=FederationRef("KubernetesFederation", name),
                oidc=OidcSubject(issuer, "system:serviceaccount:team-a:web"),
                spiffe_id=None,
                allowed_cluster_secret_stores=("app-store",),
            )
        )
    ordered = (*added, *model.authorizations) if first else (*model.authorizations, *added)
    registry.replace(
        dataclasses.replace(model, authorizations=ordered, kubernetes_federations=federations)
    )
    mock.context.resolver.clear()
    try:
        yield
    finally:
        registry.reset()
        mock.context.resolver.clear()
