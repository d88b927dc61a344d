"""One fake identity provider: its issuers, its CA and serving certificate, its listener."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import flask
from werkzeug.wrappers import Response

from mockserver.clock import CLOCK, Clock
from mockserver.serving import Listener
from mockserver.tls import CertificateAuthority, server_context

from .app import build_idp_app
from .servers import AuthorizationServer, KeySet

Kind = Literal["okta", "pingidentity"]
KINDS: tuple[Kind, ...] = ("okta", "pingidentity")
IdPFaultHook = Callable[[str, flask.Request], Response | None]
"""Called per request with the endpoint ("discovery", "jwks" or "other"); a response it returns
is sent instead (the admin layer's IdP faults)."""


class FakeIdentityProvider:
    """An Okta org or a PingOne deployment, serving its issuers from one HTTPS listener."""

    def __init__(
        self,
        name: str,
        kind: Kind,
        servers: list[AuthorizationServer],
        clock: Clock = CLOCK,
        ca: CertificateAuthority | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """`host`/`port`: where to listen (a bundle serving a vendor's server may need 443)."""
        if kind not in KINDS:
            raise ValueError(f"identity provider kind must be one of {', '.join(KINDS)}")
        self.name = name
        self.kind: Kind = kind
        self.clock = clock
        self.ca = ca or CertificateAuthority.create(f"esi-mock {kind} {name}")
        self._count = 0
        self._lock = threading.Lock()
        self.servers: dict[str, AuthorizationServer] = {}
        for server in servers:
            server.keys = KeySet(f"{name}/{server.key_folder}", self.touch)
            self.servers[server.id] = server
        self.faults: IdPFaultHook | None = None
        self.requests = {"discovery": 0, "jwks": 0}
        self._listener: Listener | None = None
        self.host, self.listen_port = host, port

    def __repr__(self) -> str:
        return f"FakeIdentityProvider({self.name!r}, kind={self.kind!r})"

    # -- the state version: equal versions mean a fetch now answers as one made then -------------

    @property
    def state_version(self) -> tuple[int, int]:
        return (self._count, self.clock.generation)

    def touch(self) -> None:
        with self._lock:
            self._count += 1

    # -- issuers ---------------------------------------------------------------------------------

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.host for s in self.servers.values()))

    def server(self, server_id: str) -> AuthorizationServer:
        """The issuer by id ("" or "org" for the Okta org server), or a KeyError naming them."""
        wanted = "" if server_id == "org" and self.kind == "okta" else server_id
        found = self.servers.get(wanted)
        if found is None:
            known = ", ".join(s.key_folder for s in self.servers.values())
            raise KeyError(f"{self.name} has no authorization server {server_id!r}; known: {known}")
        return found

    def by_issuer(self, issuer: str) -> AuthorizationServer | None:
        return next((s for s in self.servers.values() if s.issuer == issuer), None)

    def at(self, host: str, path: str) -> tuple[AuthorizationServer, str] | None:
        """The issuer and endpoint ("discovery" or "jwks") a request for host and path reaches."""
        for server in self.servers.values():
            if server.host != host:
                continue
            if path == server.discovery_path:
                return server, "discovery"
            if path == server.jwks_path:
                return server, "jwks"
        return None

    def count_request(self, endpoint: str) -> None:
        with self._lock:
            if endpoint in self.requests:
                self.requests[endpoint] += 1

    # -- state folder ----------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """The CA and every issuer's keys, as the clusters keep theirs (`<server>/` per issuer)."""
        self.ca.save(folder / "ca")
        for server in self.servers.values():
            server.keys.save(folder / server.key_folder)

    def load(self, folder: Path) -> None:
        """Reuse what `save` wrote; issuers without kept keys keep their fresh ones."""
        if CertificateAuthority.exists(folder / "ca"):
            self.ca = CertificateAuthority.load(folder / "ca")
        for server in self.servers.values():
            server.keys.load(folder / server.key_folder)

    # -- serving ---------------------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        return self._listener is not None

    @property
    def listener(self) -> Listener | None:
        return self._listener

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError(f"identity provider {self.name} is not listening: call start()")
        return self._listener.port

    @property
    def url(self) -> str:
        """Where it listens: `https://127.0.0.1:<port>` (its certificate names its hosts too)."""
        if self._listener is None:
            raise RuntimeError(f"identity provider {self.name} is not listening: call start()")
        return self._listener.url

    def server_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(("127.0.0.1", "localhost", self.host, *self.hosts)))

    def start(self) -> FakeIdentityProvider:
        if self._listener is None:
            leaf = self.ca.issue_server_cert(*self.server_names())
            self._listener = Listener(
                build_idp_app(self),
                host=self.host,
                port=self.listen_port,
                ssl_context=server_context(leaf),
                name=f"idp-{self.name}",
            ).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
