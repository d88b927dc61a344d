"""The zoo's listeners: the federation port (plain HTTP), an optional admin port for state hooks,
and the command line `python -m tests.zoo.server`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import urllib.parse
from collections.abc import Collection, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.zoo.defects import DEFECTS
from tests.zoo.protocol import Answer, Request, Zoo
from tests.zoo.world import World, read_manifests

BODY_LIMIT = 1 << 20


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _FederationHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "zoo"
    zoo: Zoo

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: nothing is logged per request."""

    def _read_body(self) -> bytes | None:
        """The body, or None when it is over the limit (the rest is not read)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, size = [], 0
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
        request = Request(self.command, self.path, dict(self.headers.items()), body)
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
            self._reply(200, {"items": self.owner.list_state(**query)})
        else:
            self._reply(404, "not found")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            payload = yaml.safe_load(raw.decode("utf-8")) if raw else {}
            path = urllib.parse.urlsplit(self.path).path
            if path == "/apply":
                self.owner.apply(_documents(payload))
            elif path == "/delete":
                self.owner.delete(payload)
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
    if isinstance(payload, dict) and "documents" in payload:
        payload = payload["documents"]
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list) or not all(isinstance(d, dict) for d in payload):
        raise ValueError("expected a manifest, a list of them, or {documents: [...]}")
    return payload


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
    ) -> None:
        unknown = set(defects) - set(DEFECTS)
        if unknown:
            raise ValueError(f"unknown defects: {', '.join(sorted(unknown))}")
        if isinstance(manifests, str | Path):
            self.initial = read_manifests(manifests)
        else:
            self.initial = list(manifests)
        self.world = World()
        self.world.apply(self.initial)
        self.zoo = Zoo(self.world, defects, forward_bearer)
        self.host, self.port, self.state_hooks = host, port, state_hooks
        self._servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    @property
    def defects(self) -> frozenset[str]:
        return self.zoo.defects

    def _listen(self, handler: type[BaseHTTPRequestHandler], port: int) -> ThreadingHTTPServer:
        server = _Server((self.host, port), handler)
        thread = threading.Thread(target=server.serve_forever, name="zoo", daemon=True)
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
        return self

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
        return f"http://{host}:{port}"

    @property
    def admin_url(self) -> str | None:
        if not self.state_hooks:
            return None
        host, port = self._admin.server_address[:2]
        return f"http://{host}:{port}"

    # -- state hooks ----------------------------------------------------------------------------

    def apply(self, documents: Iterable[dict[str, Any]]) -> None:
        """Create or replace manifests."""
        self.world.apply(documents)

    def delete(self, spec: Any) -> None:
        """Delete `{kind, name, namespace?}` or every document of `{documents: [...]}`."""
        items = _documents(spec) if isinstance(spec, list) or "documents" in spec else [spec]
        for item in items:
            meta = item.get("metadata") or item
            self.world.delete(
                str(item["kind"]), str(meta["name"]), str(meta.get("namespace") or "")
            )

    def list_state(
        self, kind: str = "GeneratorState", namespace: str | None = None
    ) -> list[dict[str, Any]]:
        """GeneratorStates (optionally of one namespace) or AuthorizedIdentities."""
        with self.world.lock:
            if kind == "AuthorizedIdentity":
                return json.loads(json.dumps(list(self.world.identities.values())))
            if kind == "GeneratorState":
                return json.loads(
                    json.dumps(
                        [
                            s
                            for (ns, _), s in self.world.states.items()
                            if namespace in (None, "", ns)
                        ]
                    )
                )
        return []

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
    parser.add_argument("--state-hooks", action="store_true", help="serve the admin API too")
    parser.add_argument(
        "--no-forward-bearer",
        action="store_true",
        help="do not send the caller's token to the issuer's discovery and JWKS endpoints",
    )
    args = parser.parse_args(argv)
    server = ZooServer(
        args.manifests,
        defects=args.defect,
        host=args.host,
        port=args.port,
        state_hooks=args.state_hooks,
        forward_bearer=not args.no_forward_bearer,
    ).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    ready = {"url": server.url, "admin_url": server.admin_url, "defects": sorted(server.defects)}
    if args.port_file:
        Path(args.port_file).write_text(json.dumps(ready) + "\n", "utf-8")
    print(json.dumps(ready), flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
