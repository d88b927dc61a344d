"""The JWKS step of the Okta and PingIdentity authenticators (the real `store.GetJWKS`).

The issuer's Authorizations are tried newest first (the real store prepends), each through the
provider bound to its `federationRef`, whatever the token's vendor: a KubernetesFederation
fails (no ca.crt on these paths), a SpiffeFederation answers an empty key set, an
OktaFederation fetches `{domain}/oauth2[/{id}]/v1/keys`, a PingIdentityFederation discovers
`jwks_uri` at `https://auth.pingone.{region}/{env}/as/...` and fetches it. A ref naming no
known federation stops the loop with `no provider found`.

Caching, by mode (docs/modes.md):
- default: an outcome is kept tagged with the fake provider's state version, so a key added,
  retired or faulted at the provider takes effect on the next request, and `authorizationServerId:
  default` reads the `default` custom server's own keys;
- quirk `idp-key-cache-hour`: the key set is kept one hour after a successful fetch with no
  refresh on an unknown kid, and PingOne's `jwks_uri` forever, as the real providers do;
- quirk `okta-default-org-keys`: `default` is mapped to the org server's `/oauth2/v1/keys`.

Host names are resolved to the mock's fake providers only; nothing else is contacted.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from mockserver.clock import CLOCK, Clock
from mockserver.federation.modes import Behaviour
from mockserver.federation.upstream import FetchCounter, UpstreamError
from mockserver.godecode import GoJSONError, unmarshal

FETCH_TIMEOUT = 10.0
CACHE_SECONDS = 3600.0
JWK = dict[str, str]


class SourceError(Exception):
    """`store.GetJWKS` failed: `str()` is its text, `detail` the reason (journal only)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


class Route(Protocol):
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def ca_pem(self) -> bytes: ...
    @property
    def provider(self) -> Any: ...


class Network(Protocol):
    """Name resolution to the mock's fake identity providers."""

    def route(self, host: str) -> Route | None: ...
    def state_versions(self) -> tuple[object, ...]: ...


class Manifests(Protocol):
    """What is read of the live manifests: the Authorizations in force and the federations."""

    @property
    def model(self) -> Any: ...
    def authorizations(self) -> list[Any]: ...


@dataclass(frozen=True)
class _Kept:
    value: Any
    version: object
    until: float


class IssuerKeys:
    """kid → JWK for an issuer, through the providers its Authorizations name."""

    def __init__(
        self,
        manifests: Manifests,
        network: Network | None,
        behaviour: Behaviour,
        clock: Clock = CLOCK,
    ) -> None:
        self._manifests = manifests
        self.network = network
        self._behaviour = behaviour
        self._clock = clock
        self._lock = threading.Lock()
        self._jwks: dict[tuple[str, ...], _Kept] = {}
        self._jwks_uri: dict[tuple[str, str], _Kept] = {}
        self._contexts: dict[bytes, ssl.SSLContext] = {}
        self._specs: tuple[Any, frozenset[str], dict[str, list[Any]]] | None = None
        self.fetch_timeout = FETCH_TIMEOUT
        self.fetches = FetchCounter()

    def clear(self) -> None:
        self._specs = None
        with self._lock:
            self._jwks.clear()
            self._jwks_uri.clear()

    def specs(self, issuer: str) -> list[Any]:
        """`store.Get(issuer)`: the Authorizations keyed by this issuer, newest first.

        Kept per loaded manifest set (swapped whole on every change) and quirk state, since
        every request asks several times."""
        key = (self._manifests.model, self._behaviour.quirks)
        cached = self._specs
        if cached is None or cached[0] is not key[0] or cached[1] != key[1]:
            by_issuer: dict[str, list[Any]] = {}
            for authorization in reversed(self._manifests.authorizations()):
                by_issuer.setdefault(authorization.authority, []).append(authorization)
            cached = self._specs = (key[0], key[1], by_issuer)
        return list(cached[2].get(issuer, ()))

    def jwks(self, issuer: str) -> dict[str, JWK]:
        """The first provider's key set that loads, or raise SourceError."""
        reasons: list[str] = []
        model = self._manifests.model
        for spec in self.specs(issuer):
            ref = spec.federation_ref
            federation = _federation(model, ref.kind, ref.name)
            if federation is None:
                raise SourceError(
                    "no provider found",
                    f"Authorization {spec.name} names {ref.kind} {ref.name!r}, which does not exist",
                )
            try:
                return self._provider_jwks(ref.kind, federation)
            except UpstreamError as exc:
                reasons.append(f"{ref.kind} {ref.name}: {exc}")
        reason = "; ".join(dict.fromkeys(reasons))
        raise SourceError("no jwks found", reason or "no Authorization for it")

    # -- providers -------------------------------------------------------------------------------

    def _provider_jwks(self, kind: str, federation: Any) -> dict[str, JWK]:
        if kind == "KubernetesFederation":
            raise UpstreamError("invalid PEM block type (no ca.crt on this path)")
        if kind == "SpiffeFederation":
            return {}
        if kind == "OktaFederation":
            return self._okta(federation)
        return self._ping(federation)

    def _okta(self, federation: Any) -> dict[str, JWK]:
        server_id = federation.authorization_server_id
        org = server_id == "" or (
            server_id == "default" and self._behaviour.enabled("okta-default-org-keys")
        )
        path = "/oauth2/v1/keys" if org else f"/oauth2/{server_id}/v1/keys"
        url = federation.domain + path
        return self._cached_keys(("okta", url), url, okta_jwks)

    def _ping(self, federation: Any) -> dict[str, JWK]:
        host = f"auth.pingone.{federation.region}"
        discovery = (
            f"https://{host}/{federation.environment_id}/as/.well-known/openid-configuration"
        )
        key = ("ping", federation.region, federation.environment_id)
        hourly = self._behaviour.enabled("idp-key-cache-hour")
        with self._lock:
            kept = self._jwks.get(key)
        if kept is not None and self._valid(kept, host):
            return dict(kept.value)
        jwks_uri = self._jwks_uri_of(discovery, host, forever=hourly)
        return self._cached_keys(key, jwks_uri, ping_jwks, check_host=host)

    def _jwks_uri_of(self, discovery: str, host: str, forever: bool) -> str:
        key = (host, discovery)
        with self._lock:
            kept = self._jwks_uri.get(key)
        if kept is not None and (forever or kept.version == self._version(host)):
            return str(kept.value)
        status, body = self._get(discovery, "discovery")
        if status != 200:
            raise UpstreamError(f"discovery endpoint returned status {status}")
        try:
            document = unmarshal(body)
        except GoJSONError as exc:
            raise UpstreamError(f"failed to parse discovery document: {exc}") from exc
        jwks_uri = document.get("jwks_uri") if isinstance(document, dict) else None
        if jwks_uri is not None and not isinstance(jwks_uri, str):
            raise UpstreamError("failed to parse discovery document: jwks_uri is not a string")
        if not jwks_uri:
            raise UpstreamError("discovery document missing jwks_uri field")
        with self._lock:
            self._jwks_uri[key] = _Kept(jwks_uri, self._version(host), float("inf"))
        return jwks_uri

    def _cached_keys(
        self,
        key: tuple[str, ...],
        url: str,
        parse: Callable[[bytes], dict[str, JWK]],
        check_host: str | None = None,
    ) -> dict[str, JWK]:
        host = urlsplit(url).netloc
        with self._lock:
            kept = self._jwks.get(key)
        if kept is not None and self._valid(kept, check_host or host):
            return dict(kept.value)
        status, body = self._get(url, "jwks")
        if status != 200:
            raise UpstreamError(f"JWKS endpoint returned status {status}")
        keys = parse(body)
        if not keys:
            raise UpstreamError("no valid keys found in JWKS response")
        now = self._clock.now()
        with self._lock:
            self._jwks[key] = _Kept(keys, self._version(host), now + CACHE_SECONDS)
        return dict(keys)

    def _valid(self, kept: _Kept, host: str) -> bool:
        if self._behaviour.enabled("idp-key-cache-hour"):
            return self._clock.now() < kept.until
        return kept.version is not None and kept.version == self._version(host)

    def _version(self, host: str) -> object:
        """The fake provider's state version (None: not a provider of this mock, never kept)."""
        route = self.network.route(host) if self.network is not None else None
        return None if route is None else route.provider.state_version

    # -- the wire --------------------------------------------------------------------------------

    def _context(self, ca_pem: bytes) -> ssl.SSLContext:
        with self._lock:
            ctx = self._contexts.get(ca_pem)
            if ctx is None:
                ctx = ssl.create_default_context(cadata=ca_pem.decode())
                self._contexts[ca_pem] = ctx
            return ctx

    def _get(self, url: str, kind: str) -> tuple[int, bytes]:
        parts = urlsplit(url)
        route = self.network.route(parts.netloc) if self.network is not None else None
        if route is None or parts.scheme != "https":
            raise UpstreamError(
                f"{parts.netloc or url!r} is not served by a fake identity provider of this "
                "mock, and the mock contacts nothing else"
            )
        self.fetches.add(kind)
        conn = _Connection(route.host, route.port, self._context(route.ca_pem), parts.hostname)
        conn.timeout = self.fetch_timeout
        try:
            conn.request("GET", parts.path or "/", headers={"Host": parts.netloc})
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
            raise UpstreamError(f"{kind} fetch from {url} failed: {exc}") from exc
        finally:
            conn.close()


class _Connection(http.client.HTTPSConnection):
    """HTTPS to the fake provider's loopback port, verifying the public host name."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, name: str | None) -> None:
        super().__init__(host, port, timeout=FETCH_TIMEOUT, context=context)
        self._name = name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._name)  # type: ignore[attr-defined]


def _federation(model: Any, kind: str, name: str) -> Any:
    tables = {
        "KubernetesFederation": model.kubernetes_federations,
        "SpiffeFederation": model.spiffe_federations,
        "OktaFederation": model.okta_federations,
        "PingIdentityFederation": model.pingidentity_federations,
    }
    return tables.get(kind, {}).get(name)


def _keys_array(body: bytes) -> list[Any]:
    try:
        document = unmarshal(body)
    except GoJSONError as exc:
        raise UpstreamError(f"failed to parse JWKS response: {exc}") from exc
    if document is None:
        return []
    if not isinstance(document, dict):
        raise UpstreamError("failed to parse JWKS response: not a JSON object")
    keys = document.get("keys")
    if keys is None:
        return []
    if not isinstance(keys, list):
        raise UpstreamError("failed to parse JWKS response: keys is not an array")
    return keys


def okta_jwks(body: bytes) -> dict[str, JWK]:
    """`[]map[string]string`: every member a string (null reads as ""), keys without kid skipped."""
    out: dict[str, JWK] = {}
    for jwk in _keys_array(body):
        if jwk is None:
            jwk = {}
        if not isinstance(jwk, dict):
            raise UpstreamError("failed to parse JWKS response: a key is not an object")
        strings: JWK = {}
        for member, value in jwk.items():
            if value is not None and not isinstance(value, str):
                raise UpstreamError(
                    f"failed to parse JWKS response: key member {member!r} is not a string"
                )
            strings[member] = value or ""
        if "kid" in strings:
            out[strings["kid"]] = strings
    return out


def ping_jwks(body: bytes) -> dict[str, JWK]:
    """`[]map[string]interface{}`: non-string members dropped, keys without a string kid skipped."""
    out: dict[str, JWK] = {}
    for jwk in _keys_array(body):
        if jwk is None:
            continue
        if not isinstance(jwk, dict):
            raise UpstreamError("failed to parse JWKS response: a key is not an object")
        kid = jwk.get("kid")
        if not isinstance(kid, str):
            continue
        out[kid] = {k: v for k, v in jwk.items() if isinstance(v, str)}
    return out
