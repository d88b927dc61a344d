"""The zoo's listeners: the federation port (plain HTTP), an optional admin port for state hooks,
and the command line `python -m tests.zoo.server`."""

from __future__ import annotations

import argparse
import json
import signal
import ssl
import sys
import threading
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme
import yaml
from cryptography import x509

from tests.zoo.defects import DEFECTS
from tests.zoo.idp import IdPNetwork
from tests.zoo.points import Mutant, Points
from tests.zoo.protocol import Answer, Request, Zoo
from tests.zoo.world import World, read_manifests

BODY_LIMIT = 1 << 20


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _TLSServer(_Server):
    """TLS in the worker thread; after the handshake the peer must pass `peer_check`, else the
    connection is closed without an HTTP response."""

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext,
        peer_check: Callable[[ssl.SSLSocket], bool],
    ) -> None:
        super().__init__(address, handler)
        self.context = context
        self.peer_check = peer_check

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(10)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            if self.peer_check(tls):
                self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]
        except (ssl.SSLError, OSError):
            pass
        finally:
            tls.close()


class _FederationHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "zoo"
    zoo: Zoo

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: nothing is logged per request."""

    def _read_body(self) -> bytes | None:
        """The body, or None when it is over the limit (the rest is not read)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            size = 0
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                size += length
                if size > BODY_LIMIT:
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > BODY_LIMIT:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._send(
                Answer(
                    413,
                    b'{"message":"Request Entity Too Large"}\n',
                    {"Content-Type": "application/json", "Connection": "close"},
                )
            )
            return
        peer = None
        if isinstance(self.connection, ssl.SSLSocket):
            peer = self.connection.getpeercert(binary_form=True)
        # http.server collapses a leading "//" in self.path; route on the request line as sent.
        words = self.requestline.split()
        target = words[1] if len(words) >= 2 else self.path
        request = Request(self.command, target, dict(self.headers.items()), body, peer)
        answer = self.zoo.handle(request)
        if answer.drop:
            self.close_connection = True
            return
        self._send(answer)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)


class _AdminHandler(BaseHTTPRequestHandler):
    """State hooks over HTTP: apply/delete manifests, list state, reset."""

    protocol_version = "HTTP/1.1"
    owner: ZooServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _reply(self, status: int, value: Any) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path == "/healthz":
            self._reply(200, "ok")
        elif url.path == "/state":
            self._reply(200, {"items": self.owner.list_state(query.get("kind"))})
        else:
            self._reply(404, "not found")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            payload = [d for d in yaml.safe_load_all(raw.decode("utf-8")) if d] if raw else []
            path = urllib.parse.urlsplit(self.path).path
            if path == "/apply":
                self.owner.apply(_documents(payload))
            elif path == "/delete":
                self.owner.delete(_documents(payload))
            elif path == "/reset":
                self.owner.reset()
            else:
                self._reply(404, "not found")
                return
        except (ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
            self._reply(400, str(exc))
            return
        self._reply(200, "ok")


def _documents(payload: Any) -> list[dict[str, Any]]:
    """Manifests from YAML documents: each a manifest, a list, or `{documents: [...]}`."""
    found: list[dict[str, Any]] = []
    for item in payload if isinstance(payload, list) else [payload]:
        if isinstance(item, dict) and "documents" in item:
            found.extend(_documents(item["documents"]))
        elif isinstance(item, list):
            found.extend(_documents(item))
        elif isinstance(item, dict):
            found.append(item)
        else:
            raise ValueError("expected manifests, lists of them, or {documents: [...]}")
    return found


class ZooServer:
    """One zoo server in this process: federation listener plus optional admin listener."""

    def __init__(
        self,
        manifests: str | Path | Iterable[dict[str, Any]],
        defects: Collection[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        state_hooks: bool = True,
        forward_bearer: bool = True,
        spiffe_bundle: str | Path | bytes | None = None,
        mtls_port: int = 0,
        mutant: Mutant | None = None,
        idp_routes: Mapping[str, str] | None = None,
        idp_cas: Sequence[bytes] = (),
    ) -> None:
        """`idp_routes`: the fake Okta/PingOne host names → `address:port` (a vendor's hosts
        file and port mapping), trusting `idp_cas`; without them no Okta/Ping caller verifies."""
        unknown = set(defects) - set(DEFECTS)
        if unknown:
            raise ValueError(f"unknown defects: {', '.join(sorted(unknown))}")
        if isinstance(manifests, str | Path):
            self.initial = read_manifests(manifests)
        else:
            self.initial = list(manifests)
        self.world = World()
        self.world.apply(self.initial)
        self.points = Points(mutant)
        network = IdPNetwork(idp_routes, idp_cas) if idp_routes else None
        self.zoo = Zoo(self.world, defects, forward_bearer, self.points, network)
        self.host, self.port, self.state_hooks = host, port, state_hooks
        if isinstance(spiffe_bundle, str | Path):
            spiffe_bundle = Path(spiffe_bundle).read_bytes()
        self.spiffe_bundle = spiffe_bundle
        self.mtls_port = mtls_port
        self._ca = trustme.CA()
        self._servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    @property
    def defects(self) -> frozenset[str]:
        return self.zoo.defects

    def _listen(self, handler: type[BaseHTTPRequestHandler], port: int) -> ThreadingHTTPServer:
        server = _Server((self.host, port), handler)
        thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="zoo", daemon=True
        )
        thread.start()
        self._servers.append((server, thread))
        return server

    def start(self) -> ZooServer:
        """Start listening; returns self."""
        federation = type("Federation", (_FederationHandler,), {"zoo": self.zoo})
        self._federation = self._listen(federation, self.port)
        if self.state_hooks:
            admin = type("Admin", (_AdminHandler,), {"owner": self})
            self._admin = self._listen(admin, 0)
        if self.spiffe_bundle is not None:
            self._mtls = _TLSServer(
                (self.host, self.mtls_port), federation, self._mtls_context(), self._peer_allowed
            )
            thread = threading.Thread(
                target=self._mtls.serve_forever, args=(0.05,), name="zoo", daemon=True
            )
            thread.start()
            self._servers.append((self._mtls, thread))
        return self

    def _mtls_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._ca.issue_cert("127.0.0.1", "localhost", self.host).configure_cert(context)
        assert self.spiffe_bundle is not None
        context.load_verify_locations(cadata=self.spiffe_bundle.decode())
        optional = "mtls-client-cert-optional" in self.defects
        context.verify_mode = ssl.CERT_OPTIONAL if optional else ssl.CERT_REQUIRED
        return context

    def _peer_allowed(self, tls: ssl.SSLSocket) -> bool:
        """The TLS allow-list: the SPIFFE IDs of current SPIFFE Authorizations."""
        der = tls.getpeercert(binary_form=True)
        if der is None:
            return "mtls-client-cert-optional" in self.defects
        if "mtls-any-svid" in self.defects:
            return True
        try:
            sans = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
                x509.SubjectAlternativeName
            )
            uris = sans.value.get_values_for_type(x509.UniformResourceIdentifier)
        except (ValueError, x509.ExtensionNotFound):
            return False
        allowed = {a.subject for a in self.world.authorizations() if a.spiffe}
        return len(uris) == 1 and any(
            self.points.compare("spiffe-id", spiffe_id, uris[0]) for spiffe_id in allowed
        )

    def stop(self) -> None:
        """Stop every listener and join its thread."""
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers = []

    def __enter__(self) -> ZooServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._federation.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    @property
    def mtls_url(self) -> str | None:
        if self.spiffe_bundle is None:
            return None
        host, port = self._mtls.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"https://{host}:{port}"

    @property
    def server_ca_pem(self) -> bytes:
        """The CA of the mTLS port's serving certificate (the runner's --target-ca)."""
        return self._ca.cert_pem.bytes()

    @property
    def admin_url(self) -> str | None:
        if not self.state_hooks:
            return None
        host, port = self._admin.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    # -- state hooks ----------------------------------------------------------------------------

    def apply(self, documents: Iterable[dict[str, Any]]) -> None:
        """Create or replace manifests."""
        self.world.apply(documents)

    def delete(self, documents: Iterable[dict[str, Any]]) -> None:
        """Delete these objects (kind and metadata are read)."""
        for item in documents:
            meta = item.get("metadata") or {}
            self.world.delete(
                str(item["kind"]), str(meta["name"]), str(meta.get("namespace") or "")
            )

    def list_state(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every GeneratorState and AuthorizedIdentity (or those of one kind), as JSON data."""
        with self.world.lock:
            items = [*self.world.states.values(), *self.world.identities.values()]
            return json.loads(json.dumps([i for i in items if kind in (None, i["kind"])]))

    def hooks_file(self, path: str | Path) -> Path:
        """Write a runner hooks file (apply, delete, state, reset URLs) for this server."""
        if self.admin_url is None:
            raise ValueError("the zoo was started without state hooks")
        hooks = {name: {"url": f"{self.admin_url}/{name}"} for name in ("apply", "delete")}
        hooks["state"] = {"url": f"{self.admin_url}/state"}
        hooks["reset"] = {"url": f"{self.admin_url}/reset"}
        Path(path).write_text(yaml.safe_dump(hooks, sort_keys=False), "utf-8")
        return Path(path)

    def reset(self) -> None:
        """Back to the initial manifests, no state."""
        with self.world.lock:
            self.world.documents.clear()
            self.world.applied.clear()
            self.world.apply(self.initial)
            self.world.reset_state()


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.zoo.server --manifests FILE [...]`: serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m tests.zoo.server", description=__doc__)
    parser.add_argument("--manifests", required=True, help="YAML file or folder of manifests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the federation URL here when ready")
    parser.add_argument("--defect", action="append", default=[], choices=sorted(DEFECTS))
    parser.add_argument("--mutant", help="one mutant, POINT:OPERATOR (tests/zoo/points.py)")
    parser.add_argument("--state-hooks", action="store_true", help="serve the admin API too")
    parser.add_argument(
        "--no-forward-bearer",
        action="store_true",
        help="do not send the caller's token to the issuer's discovery and JWKS endpoints",
    )
    parser.add_argument("--spiffe-bundle", help="CA bundle for SVIDs: serve the mTLS port too")
    parser.add_argument("--mtls-port", type=int, default=0)
    parser.add_argument("--server-ca-out", help="write the mTLS serving CA (PEM) here")
    parser.add_argument("--hooks-out", help="write a runner hooks file here (with --state-hooks)")
    args = parser.parse_args(argv)
    server = ZooServer(
        args.manifests,
        defects=args.defect,
        host=args.host,
        port=args.port,
        state_hooks=args.state_hooks,
        forward_bearer=not args.no_forward_bearer,
        spiffe_bundle=args.spiffe_bundle,
        mtls_port=args.mtls_port,
        mutant=Mutant.parse(args.mutant) if args.mutant else None,
    ).start()
    if args.server_ca_out:
        Path(args.server_ca_out).write_bytes(server.server_ca_pem)
    if args.hooks_out:
        server.hooks_file(args.hooks_out)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.port_file:
        partial = Path(args.port_file + ".tmp")
        partial.write_text(server.url + "\n", "utf-8")
        partial.replace(args.port_file)
    print(server.url, flush=True)
    if server.mtls_url:
        print(f"mtls {server.mtls_url}", flush=True)
    if server.admin_url:
        print(f"admin {server.admin_url}", flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
