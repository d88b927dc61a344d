"""Verification keys of client clusters: discovery and JWKS over TLS, trusting the caller's CA.

The real server fetches discovery and JWKS on every request, with the caller's token as bearer
(server-protocol.md §3.2), so a token its cluster stops accepting is refused on the next request.
The mock gives that answer without paying two HTTPS round trips per request (design note §2):

- for the mock's own fake clusters, an outcome is cached tagged with the cluster's state version
  (bumped by every key, object, token, access-rule and fault change and every clock shift) and
  the token's `exp`; a changed version or a passed `exp` is a miss, so a hit is exactly what a
  fresh fetch would return now. In strict mode, where no bearer is forwarded, the cluster is
  still asked whether it honours the token;
- for any other upstream, every request fetches, unless `upstream_cache` (seconds, the explicit
  `--upstream-cache` option) allows reusing an outcome for that long;
- an unknown kid refetches the JWKS, failures are never cached, and nothing is contacted for
  an issuer no Authorization names.
"""

from __future__ import annotations

import base64
import binascii
import functools
import http.client
import re
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from mockserver.clock import CLOCK, Clock
from mockserver.federation.jwtparse import KeyFuncError
from mockserver.federation.modes import Behaviour
from mockserver.godecode import GoJSONError, unmarshal

FETCH_TIMEOUT = 10.0
MAX_DISCOVERY_ENTRIES = 4096
"""Discovery outcomes are cached per token; a long run sees many tokens, so the cache is bounded."""
_PEM_BLOCK = re.compile(rb"-----BEGIN ([^-\r\n]+)-----\r?\n(.*?)-----END \1-----", re.S)


class UpstreamError(Exception):
    """One discovery or JWKS fetch failed; the reason is kept for the journal only."""


def _expiry_hint(exp: float | None, now: float) -> str:
    """The mock's own hint (journal only; the text before it is the real server's): a cluster
    refuses discovery to an expired forwarded token, which is the usual cause after a clock shift."""
    if exp is None or now < exp:
        return ""
    return (
        f" (mock hint: the forwarded token expired {int(now - exp)} s ago on the mock's clock, "
        "so the cluster refused discovery; after `esi-mock clock --shift` mint a new token)"
    )


@functools.lru_cache(maxsize=256)
def decode_ca_crt(ca_crt: str) -> bytes:
    """`ca.crt` → PEM of its first block, which must be a CERTIFICATE (Go's provider rules)."""
    try:
        raw = base64.b64decode(ca_crt.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UpstreamError(f"ca.crt is not standard base64: {exc}") from exc
    block = _PEM_BLOCK.search(raw)
    if block is None or block.group(1) != b"CERTIFICATE":
        raise UpstreamError("invalid PEM block type")
    try:
        der = base64.b64decode(b"".join(block.group(2).split()))
        cert = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as exc:
        raise UpstreamError(f"x509: malformed certificate: {exc}") from exc
    return cert.public_bytes(Encoding.PEM)


class _HTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection whose TLS verification name is chosen by the caller."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, server_name: str) -> None:
        super().__init__(host, port, timeout=FETCH_TIMEOUT, context=context)
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)  # type: ignore[attr-defined]


class OwnCluster(Protocol):
    """What the resolver reads of a fake cluster this process serves."""

    @property
    def listening(self) -> bool: ...
    @property
    def url(self) -> str: ...
    @property
    def state_version(self) -> tuple[int, int]: ...
    def honours(self, token: str) -> str | None: ...


@dataclass(frozen=True)
class _Cached:
    """One fetched outcome: valid while `version` is current and the clock is before `until`."""

    value: Any
    version: object
    until: float


@dataclass
class FetchCounter:
    discovery: int = 0
    jwks: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str) -> None:
        with self.lock:
            setattr(self, kind, getattr(self, kind) + 1)

    def snapshot(self) -> dict[str, int]:
        return {"discovery": self.discovery, "jwks": self.jwks}


_NEVER = float("inf")


class KeyResolver:
    """Finds the JWKS that may verify a token of `issuer`, as the Kubernetes provider does."""

    def __init__(
        self,
        federation_urls: Callable[[str], list[str] | None],
        behaviour: Behaviour,
        clock: Clock = CLOCK,
        clusters: Mapping[str, OwnCluster] | None = None,
        upstream_cache: float = 0.0,
    ) -> None:
        self._federation_urls = federation_urls
        self._behaviour = behaviour
        self._clock = clock
        self._clusters: Mapping[str, OwnCluster] = clusters if clusters is not None else {}
        self.upstream_cache = upstream_cache
        """Seconds an outcome of an upstream this process does not serve may be reused (0: never)."""
        self._lock = threading.Lock()
        self._discovery: dict[tuple[str, str, bytes], _Cached] = {}
        self._jwks: dict[tuple[str, bytes], _Cached] = {}
        self._contexts: dict[bytes, ssl.SSLContext] = {}
        self._ca_keyed: dict[str, list[str]] = {}
        self._owners: dict[str, OwnCluster | None] = {}
        self.seen_ca: set[str] = set()
        self.fetches = FetchCounter()

    def issuer_configured(self, issuer: str) -> bool:
        """Whether some Authorization names this issuer (what Okta's 401 text reveals)."""
        return self._federation_urls(issuer) != []

    def clear(self) -> None:
        with self._lock:
            self._discovery.clear()
            self._jwks.clear()
            self._ca_keyed.clear()
            self._owners.clear()
            self.seen_ca.clear()

    def keys_for(
        self, issuer: str, ca_crt: str, token: str, token_exp: object, kid: object
    ) -> dict[str, dict[str, Any]]:
        """Return kid → JWK for the issuer, or raise KeyFuncError("no jwks found")."""
        urls = self._urls(issuer, ca_crt)
        exp = float(token_exp) if isinstance(token_exp, int | float) else None
        try:
            ca_pem = decode_ca_crt(ca_crt)
            keys = self._collect(urls, ca_pem, token, exp, refresh=False)
            if isinstance(kid, str) and kid not in keys:
                keys = self._collect(urls, ca_pem, token, exp, refresh=True)
        except UpstreamError as exc:
            raise KeyFuncError("no jwks found", detail=str(exc)) from exc
        if self._behaviour.enabled("ca-keyed-cache"):
            with self._lock:
                self._ca_keyed.setdefault(ca_crt, urls)
        return keys

    def _urls(self, issuer: str, ca_crt: str) -> list[str]:
        if self._behaviour.enabled("ca-keyed-cache"):
            with self._lock:
                cached = self._ca_keyed.get(ca_crt)
            if cached is not None:
                return cached
        urls = self._federation_urls(issuer)
        if urls is None:
            raise KeyFuncError(
                "no jwks found",
                detail=f"an Authorization for issuer {issuer!r} names no known federation",
            )
        if not urls:
            raise KeyFuncError("no jwks found", detail=f"no Authorization names issuer {issuer!r}")
        return urls

    def _collect(
        self, urls: list[str], ca_pem: bytes, token: str, exp: float | None, refresh: bool
    ) -> dict[str, dict[str, Any]]:
        keys: dict[str, dict[str, Any]] = {}
        now = self._clock.now()
        for url in urls:
            owner = self._owner(url)
            version = owner.state_version if owner is not None else None
            warm = None if refresh else self._warm(url, ca_pem, token, version, now)
            if warm is not None:
                if len(urls) == 1:
                    return warm  # the hot path: two lookups, two version compares
                keys.update(warm)
                continue
            path = self._discovered_jwks_path(url, ca_pem, token, exp, owner, version)
            keys.update(self._jwks_of(url, path, ca_pem, token, owner, version, refresh))
        return keys

    def _warm(
        self, url: str, ca_pem: bytes, token: str, version: object, now: float
    ) -> dict[str, dict[str, Any]] | None:
        """The cached keys when both cached outcomes still hold (dict reads need no lock)."""
        discovery = self._discovery.get((token, url, ca_pem))
        if discovery is None or not self._fresh(discovery, version, now):
            return None
        jwks = self._jwks.get((url + discovery.value, ca_pem))
        if jwks is None or not self._fresh(jwks, version, now):
            return None
        return jwks.value

    def _owner(self, url: str) -> OwnCluster | None:
        """The fake cluster of this process serving `url`, if any (remembered per URL)."""
        if url in self._owners:
            owner = self._owners.get(url)
            if owner is None or (owner.listening and owner.url == url.rstrip("/")):
                return owner
        found = next(
            (c for c in list(self._clusters.values()) if c.listening and c.url == url.rstrip("/")),
            None,
        )
        with self._lock:
            self._owners[url] = found
        return found

    def _fresh(self, hit: _Cached | None, version: object, now: float) -> bool:
        return hit is not None and hit.version == version and now < hit.until

    def _until(self, owner: OwnCluster | None, exp: float | None, now: float) -> float | None:
        """Until when an outcome may be reused, or None when it may not be cached at all."""
        if owner is not None:
            return exp if exp is not None else _NEVER
        if self.upstream_cache <= 0:
            return None
        until = now + self.upstream_cache
        return min(until, exp) if exp is not None else until

    def _bearer(self, token: str) -> str:
        return "" if self._behaviour.strict else token

    def _discovered_jwks_path(
        self,
        url: str,
        ca_pem: bytes,
        token: str,
        exp: float | None,
        owner: OwnCluster | None,
        version: object,
    ) -> str:
        now = self._clock.now()
        # Keyed by the token even when no bearer is sent: in strict mode the entry also records
        # that the cluster still honoured this token at this version.
        key = (token, url, ca_pem)
        with self._lock:
            hit = self._discovery.get(key)
        if self._fresh(hit, version, now):
            return str(hit.value)  # type: ignore[union-attr]
        document = self._get_json(
            url, "/.well-known/openid-configuration", ca_pem, token, "discovery"
        )
        jwks_uri = document.get("jwks_uri") if isinstance(document, dict) else None
        if not isinstance(jwks_uri, str):
            raise UpstreamError(
                "discovery document has no string jwks_uri" + _expiry_hint(exp, now)
            )
        if owner is not None and self._behaviour.strict:
            refusal = owner.honours(token)
            if refusal is not None:
                raise UpstreamError(f"the cluster no longer honours the token: {refusal}")
        path = urlsplit(jwks_uri).path
        until = self._until(owner, exp, now)
        if until is not None:
            with self._lock:
                self._discovery[key] = _Cached(path, version, until)
                if len(self._discovery) > MAX_DISCOVERY_ENTRIES:
                    self._evict_discovery(now)
        return path

    def _evict_discovery(self, now: float) -> None:
        """One entry per token: drop expired ones, then the oldest half (lock held)."""
        for stale in [k for k, v in self._discovery.items() if v.until <= now]:
            del self._discovery[stale]
        if len(self._discovery) > MAX_DISCOVERY_ENTRIES:
            for stale in list(self._discovery)[: len(self._discovery) // 2]:
                del self._discovery[stale]

    def _jwks_of(
        self,
        url: str,
        path: str,
        ca_pem: bytes,
        token: str,
        owner: OwnCluster | None,
        version: object,
        refresh: bool,
    ) -> dict[str, dict[str, Any]]:
        """The JWKS; shared by tokens, since the discovery step already put this token's
        acceptance at this version to the cluster, which applies one rule to both endpoints."""
        now = self._clock.now()
        key = (url + path, ca_pem)
        with self._lock:
            hit = self._jwks.get(key)
        if not refresh and self._fresh(hit, version, now):
            return hit.value  # type: ignore[union-attr]
        document = self._get_json(url, path, ca_pem, token, "jwks")
        keys = parse_jwks(document)
        until = self._until(owner, None, now)
        if until is not None:
            with self._lock:
                self._jwks[key] = _Cached(keys, version, until)
        return keys

    def _context(self, ca_pem: bytes) -> ssl.SSLContext:
        with self._lock:
            ctx = self._contexts.get(ca_pem)
            if ctx is None:
                ctx = ssl.create_default_context(cadata=ca_pem.decode())
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                self._contexts[ca_pem] = ctx
            return ctx

    def _get_json(self, url: str, path: str, ca_pem: bytes, token: str, kind: str) -> Any:
        parts = urlsplit(url)
        headers = {"Accept": "application/json"}
        bearer = self._bearer(token)
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        self.fetches.add(kind)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            server_name = parts.hostname or ""
            if self._behaviour.enabled("sni-with-port"):
                server_name = url[len("https://") :]
            conn = _HTTPSConnection(
                parts.hostname or "", parts.port or 443, self._context(ca_pem), server_name
            )
        elif parts.scheme == "http":
            conn = http.client.HTTPConnection(
                parts.hostname or "", parts.port or 80, timeout=FETCH_TIMEOUT
            )
        else:
            raise UpstreamError(f"unsupported federation URL scheme in {url!r}")
        try:
            conn.request("GET", parts.path + path, headers=headers)
            response = conn.getresponse()
            body = response.read()
        except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
            raise UpstreamError(f"{kind} fetch from {url} failed: {exc}") from exc
        finally:
            conn.close()
        try:
            return unmarshal(body)
        except GoJSONError as exc:
            raise UpstreamError(
                f"{kind} answer from {url} (status {response.status}) is not JSON"
            ) from exc


def parse_jwks(document: Any) -> dict[str, dict[str, Any]]:
    """`{"keys": [...]}` where every member of every key must be a string, indexed by kid."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise UpstreamError("JWKS is not an object with a keys array")
    keys: dict[str, dict[str, Any]] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or not all(isinstance(v, str) for v in jwk.values()):
            raise UpstreamError("JWKS key has a member that is not a string")
        keys[jwk.get("kid", "")] = jwk
    return keys
