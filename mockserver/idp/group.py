"""The fake identity providers of one mock: defaults, start and stop, and where names live.

The real server reaches Okta at the OktaFederation's domain and PingOne at its fixed public
host names, both through the system trust store. The mock answers those names with its fake
providers and trusts their CAs for its own upstream fetches only (a documented deviation):
`route(host)` is that name resolution, and nothing is contacted for any other name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockserver.clock import CLOCK, Clock
from mockserver.files import write_private_file
from mockserver.keys import SigningKey

from .minting import TokenRequest, mint
from .provider import FakeIdentityProvider
from .servers import KeySet, okta_servers, pingone_servers

OKTA_HOST = "esi-mock.okta.com"
OKTA_CUSTOM_SERVERS = ("default", "aus-esi-mock")
PINGONE_ENVIRONMENTS = {
    "com": ("a1b2c3d4-0000-4000-8000-0000000000c0",),
    "eu": ("a1b2c3d4-0000-4000-8000-0000000000e0",),
}


def default_providers(
    clock: Clock = CLOCK, host: str = "127.0.0.1", ports: Mapping[str, int] | None = None
) -> dict[str, FakeIdentityProvider]:
    """An Okta org (`okta`: org server, `default` and one more custom server) and PingOne
    (`pingone`: one environment in region com, one in eu), listening on `host` and the port
    `ports` names for each (0, any free port, by default)."""
    chosen = ports or {}
    return {
        "okta": FakeIdentityProvider(
            "okta",
            "okta",
            okta_servers(OKTA_HOST, OKTA_CUSTOM_SERVERS),
            clock,
            host=host,
            port=chosen.get("okta", 0),
        ),
        "pingone": FakeIdentityProvider(
            "pingone",
            "pingidentity",
            pingone_servers(PINGONE_ENVIRONMENTS),
            clock,
            host=host,
            port=chosen.get("pingone", 0),
        ),
    }


REMOTE_FILE = "remote.json"
"""In the IdP state folder: host names served by fake providers of another process (a bundle's,
started by `esi-conformance server --bundle`): `{host: {"address": "IP:PORT", "ca_file": PATH}}`."""


class RemoteProvider:
    """A fake provider of another process: its state is unknown here, so nothing it answers is
    kept (every version differs) and a rotation there shows on the next request."""

    kind = "remote"

    @property
    def state_version(self) -> object:
        return object()


@dataclass(frozen=True)
class Route:
    """Where a host name of a fake provider is served, and the CA its certificate chains to."""

    provider: FakeIdentityProvider | RemoteProvider
    host: str
    port: int
    ca_pem: bytes


def read_remote_routes(folder: Path) -> dict[str, Route]:
    """The routes `REMOTE_FILE` in `folder` names (none when it is absent)."""
    file = folder / REMOTE_FILE
    if not file.is_file():
        return {}
    remote = RemoteProvider()
    routes = {}
    for host, entry in json.loads(file.read_text("utf-8")).items():
        address, _, port = str(entry["address"]).rpartition(":")
        ca_pem = Path(entry["ca_file"]).read_bytes()
        routes[host] = Route(remote, address, int(port), ca_pem)
    return routes


class IdentityProviders(Mapping[str, FakeIdentityProvider]):
    """Start, stop, name resolution and connection entries for a set of fake providers."""

    def __init__(self, providers: Mapping[str, FakeIdentityProvider] | None = None) -> None:
        self._providers = dict(providers if providers is not None else default_providers())
        self._routes: dict[str, Route] = {}
        self._remote: dict[str, Route] = {}
        self._undo: list[tuple[KeySet, list[SigningKey], str]] = []

    def __getitem__(self, name: str) -> FakeIdentityProvider:
        return self._providers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._providers)

    def __len__(self) -> int:
        return len(self._providers)

    def keep(self, folder: Path) -> IdentityProviders:
        """Reuse the CAs and keys kept under `folder` (`<name>/`), then keep the current ones
        there with each CA's `ca.crt` (what a bundle carries), without serving."""
        for name, provider in self._providers.items():
            provider.load(folder / name)
            provider.save(folder / name)
            write_private_file(folder / name / "ca.crt", provider.ca.cert_pem, 0o644)
        return self

    def start(self, state_folder: Path | None = None) -> IdentityProviders:
        """Serve every provider, reusing (then keeping) CAs and keys under `state_folder`."""
        if state_folder is not None:
            self.keep(state_folder)
            self._remote = read_remote_routes(state_folder)
        for provider in self._providers.values():
            provider.start()
        self._routes = {
            host: Route(p, _dial(p.host), p.port, p.ca.cert_pem)
            for p in self._providers.values()
            for host in p.hosts
        }
        return self

    def stop(self) -> None:
        for provider in self._providers.values():
            provider.stop()
        self._routes = {}

    def state_versions(self) -> tuple[object, ...]:
        """Every provider's state version and whether it listens: equal tuples mean every key
        fetch now answers as before."""
        return tuple((p.state_version, p.listening) for p in self._providers.values())

    def route(self, host: str) -> Route | None:
        """The fake provider answering `host` (a public name or 127.0.0.1:<port>), if any."""
        found = self._remote.get(host) or self._routes.get(host)
        if found is not None:
            return found
        for provider in self._providers.values():
            if provider.listening and host == f"{_dial(provider.host)}:{provider.port}":
                return Route(provider, _dial(provider.host), provider.port, provider.ca.cert_pem)
        return None

    def _address(self, host: str, provider: FakeIdentityProvider) -> str:
        """Where the mock's fetches for `host` go: a bundle's provider, or its own."""
        remote = self._remote.get(host)
        if remote is not None:
            return f"{remote.host}:{remote.port}"
        return f"{_dial(provider.host)}:{provider.port}"

    def rotate(self, name: str, server_id: str | None = None, retire_old: bool = False) -> str:
        """Sign with a new key of the issuer (its old key retired if asked); `undo` reverts."""
        provider = self[name]
        server = provider.server(server_id or self._default_server(provider))
        ring = server.keys
        self._undo.append((ring, ring.keys, ring.signing_key.kid))
        old = ring.signing_key.kid
        new = ring.add().kid
        ring.sign_with(new)
        if retire_old:
            ring.retire(old)
        return new

    def undo(self) -> None:
        """Put back the keys every `rotate` since the last `undo` changed, newest first."""
        while self._undo:
            ring, keys, signing = self._undo.pop()
            ring.restore(keys, signing)

    @staticmethod
    def _default_server(provider: FakeIdentityProvider) -> str:
        return "default" if provider.kind == "okta" else next(iter(provider.servers))

    def find_issuer(self, issuer: str) -> tuple[FakeIdentityProvider, str] | None:
        for provider in self._providers.values():
            server = provider.by_issuer(issuer)
            if server is not None:
                return provider, server.id
        return None

    def mint(
        self,
        name: str,
        request: TokenRequest,
        server_id: str | None = None,
        broken: str | None = None,
    ) -> str:
        """A token of provider `name`'s issuer `server_id` (default: `default`, or the first
        PingOne environment)."""
        if name not in self._providers:
            raise KeyError(
                f"unknown identity provider {name!r}; known: {', '.join(self._providers)}"
            )
        provider = self._providers[name]
        if server_id is None:
            server_id = self._default_server(provider)
        server = provider.server(server_id)
        return mint(provider.kind, server, request, provider.clock.now(), broken)

    def connection(self, ca_file: Mapping[str, Path] | None = None) -> dict[str, Any]:
        """The `idps` entries of connection.json: one per provider, its issuers listed."""
        out: dict[str, Any] = {}
        for name, provider in self._providers.items():
            issuers = {
                server.key_folder: {
                    "issuer": server.issuer,
                    "jwks_url": server.jwks_uri,
                    "discovery_url": f"https://{server.host}{server.discovery_path}",
                    **({"region": server.region} if server.region else {}),
                }
                for server in provider.servers.values()
            }
            first = next(iter(provider.servers.values()))
            main = provider.servers.get("default", first)
            out[name] = {
                "kind": provider.kind,
                "issuer": main.issuer,
                "jwks_url": main.jwks_uri,
                "url": provider.url if provider.listening else None,
                "hosts": {h: self._address(h, provider) for h in provider.hosts}
                if provider.listening
                else {},
                "ca_file": str(ca_file[name]) if ca_file and name in ca_file else None,
                "issuers": issuers,
            }
        return out


def _dial(host: str) -> str:
    """The address to connect to for a listener bound to `host` (any-address → loopback)."""
    return "127.0.0.1" if host in ("", "0.0.0.0") else host


def mint_offline(
    folder: Path,
    name: str,
    request: TokenRequest,
    server_id: str | None = None,
    broken: str | None = None,
) -> str:
    """A token signed with the keys a mock kept under `folder` (`<state>/idps`), mock stopped."""
    providers = default_providers()
    if name not in providers:
        raise KeyError(f"unknown identity provider {name!r}; known: {', '.join(providers)}")
    kept = folder / name
    if not (kept / "ca").is_dir():
        raise ValueError(
            f"no keys of identity provider {name} in {kept}: start `esi-mock serve` on this "
            "state folder once first"
        )
    providers[name].load(kept)
    return IdentityProviders(providers).mint(name, request, server_id, broken)
