"""Verification keys of client clusters: discovery and JWKS over TLS, trusting the caller's CA.

The real server fetches discovery and JWKS on every request, with the caller's token as bearer
(docs/protocol.md §3.2), so a token its cluster stops accepting is refused on the next request.
The mock gives that answer without paying two HTTPS round trips per request (docs/modes.md, Upstream caching):

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
import contextlib
import functools
import gzip
import http.client
import random
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
from mockserver.federation import gopem
from mockserver.federation.jwtparse import KeyFuncError
from mockserver.federation.modes import Behaviour
from mockserver.godecode import GoJSONError, unmarshal

FETCH_TIMEOUT = 10.0
MAX_DISCOVERY_ENTRIES = 4096
"""Discovery outcomes are cached per token; a long run sees many tokens, so the cache is bounded."""
GO_USER_AGENT = "Go-http-client/1.1"


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
    """`ca.crt` → PEM of its first block, which must be a CERTIFICATE (Go's provider rules:
    std base64, then `pem.Decode`, then `x509.ParseCertificate`)."""
    try:
        raw = base64.b64decode(ca_crt.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UpstreamError(f"ca.crt is not standard base64: {exc}") from exc
    block = gopem.decode(raw)
    if block is None or block.type != "CERTIFICATE":
        raise UpstreamError("invalid PEM block type")
    try:
        cert = x509.load_der_x509_certificate(block.data)
    except ValueError as exc:
        raise UpstreamError(f"x509: malformed certificate: {exc}") from exc
    return cert.public_bytes(Encoding.PEM)


class _HTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection whose TLS verification name is chosen by the caller."""

    def __init__(
        self, host: str, port: int, context: ssl.SSLContext, server_name: str, timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
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
Keys = dict[str, dict[str, Any] | None]
"""kid → JWK members (None for a `null` entry of the set)."""
_NO_LOCK = contextlib.nullcontext()


class WatchedLock:
    """A mutex that counts its waiters, so a test can see a caller stalled behind it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = threading.Condition()
        self.waiting = 0

    def __enter__(self) -> None:
        with self._state:
            self.waiting += 1
            self._state.notify_all()
        self._lock.acquire()
        with self._state:
            self.waiting -= 1

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def wait_for_waiters(self, count: int, timeout: float = 10.0) -> bool:
        """Block until `count` callers wait for the lock (a test's synchronisation point)."""
        with self._state:
            return self._state.wait_for(lambda: self.waiting >= count, timeout)


class KeyResolver:
    """Finds the JWKS that may verify a token of `issuer`, as the Kubernetes provider does."""

    def __init__(
        self,
        federation_urls: Callable[[str], list[str | None]],
        behaviour: Behaviour,
        clock: Clock = CLOCK,
        clusters: Mapping[str, OwnCluster] | None = None,
        upstream_cache: float = 0.0,
        server_anchors: Callable[[], bytes] | None = None,
    ) -> None:
        """`server_anchors`: the server-side trust bundle (PEM) strict mode verifies an issuer's
        keys with when the caller sends no `ca.crt` (docs/modes.md, Strict mode)."""
        self._federation_urls = federation_urls
        self._server_anchors = server_anchors or (lambda: b"")
        self._behaviour = behaviour
        self._clock = clock
        self._clusters: Mapping[str, OwnCluster] = clusters if clusters is not None else {}
        self.upstream_cache = upstream_cache
        """Seconds an outcome of an upstream this process does not serve may be reused (0: never)."""
        self._lock = threading.Lock()
        self._discovery: dict[tuple[str, str, bytes], _Cached] = {}
        self._jwks: dict[tuple[str, bytes], _Cached] = {}
        self._contexts: dict[bytes, ssl.SSLContext] = {}
        self._ca_keyed: dict[str, list[str | None]] = {}
        self._owners: dict[str, OwnCluster | None] = {}
        self.seen_ca: set[str] = set()
        """`ca.crt` values past the cold path of the quirk `first-request-401`."""
        self.fetches = FetchCounter()
        self.fetch_timeout = FETCH_TIMEOUT
        """Seconds per upstream request (Go's `http.Client.Timeout`); tests shorten it."""
        self._io_lock = WatchedLock()
        """Held across every fetch under the quirk `global-oidc-lock`, as the real mutex is."""

    @property
    def io_lock(self) -> WatchedLock:
        """The one lock of `global-oidc-lock` (tests watch its waiters)."""
        return self._io_lock

    def issuer_configured(self, issuer: str) -> bool:
        """Whether some Authorization names this issuer (what Okta's 401 text reveals)."""
        return self._federation_urls(issuer) != []

    def serves(self, issuer: str) -> bool:
        """Whether every spec of `issuer` names a fake cluster of this process, whose state
        version then says whether a fetch now would answer as before."""
        urls = self._federation_urls(issuer)
        return bool(urls) and all(url is not None and self._owner(url) for url in urls)

    def clear(self) -> None:
        with self._lock:
            self._discovery.clear()
            self._jwks.clear()
            self._ca_keyed.clear()
            self._owners.clear()
            self.seen_ca.clear()

    def keys_for(
        self, issuer: str, ca_crt: str, token: str, token_exp: object, kid: object
    ) -> Keys:
        """kid → JWK from the first provider of the issuer's specs that answers, or raise the
        keyfunc's error (`no provider found`, `no jwks found`, joined texts when cold)."""
        specs = self._specs(issuer, ca_crt)
        exp = float(token_exp) if isinstance(token_exp, int | float) else None
        with self._io_lock if self._behaviour.enabled("global-oidc-lock") else _NO_LOCK:
            if self._behaviour.enabled("first-request-401") and ca_crt not in self.seen_ca:
                self._cold(specs, ca_crt, token, exp)
            keys, cached = self._first_answer(specs, ca_crt, token, exp, refresh=False)
            if cached and isinstance(kid, str) and kid not in keys:
                keys, _ = self._first_answer(specs, ca_crt, token, exp, refresh=True)
        if self._behaviour.enabled("ca-keyed-cache"):
            with self._lock:
                self._ca_keyed.setdefault(ca_crt, specs)
        return keys

    def _cold(self, specs: list[str | None], ca_crt: str, token: str, exp: float | None) -> None:
        """The real cold path (`auth/oidc.go:133-166`): every stored spec copy is tried alone;
        failures are joined one per line and nothing is remembered; when none fails the
        `ca.crt` is remembered and the shadowed result still fails with `no jwks found`."""
        failures = []
        for url in specs:
            if url is None:
                failures.append("no provider found")
                continue
            try:
                self._provider_keys(url, ca_crt, token, exp, refresh=False)
            except UpstreamError:
                failures.append("no jwks found")
        if failures:
            raise KeyFuncError("\n".join(failures), detail="cold cache: spec copies failed")
        self.seen_ca.add(ca_crt)
        raise KeyFuncError("no jwks found", detail="first request for this ca.crt")

    def _first_answer(
        self, specs: list[str | None], ca_crt: str, token: str, exp: float | None, refresh: bool
    ) -> tuple[Keys, bool]:
        """`store.GetJWKS`: specs in order; a dangling ref ends the walk, a failing provider is
        skipped, the first answer wins (keys are never merged across providers). Also says
        whether that answer came from the cache (only a cached answer is worth refetching)."""
        order = list(specs)
        if len(order) > 1 and self._behaviour.enabled("random-provider-order"):
            random.shuffle(order)
        reasons = []
        for url in order:
            if url is None:
                raise KeyFuncError(
                    "no provider found", detail="a federationRef names no federation"
                )
            try:
                return self._provider_keys(url, ca_crt, token, exp, refresh)
            except UpstreamError as exc:
                reasons.append(str(exc))
        raise KeyFuncError("no jwks found", detail="; ".join(dict.fromkeys(reasons)))

    def _specs(self, issuer: str, ca_crt: str) -> list[str | None]:
        """One entry per stored spec of the issuer: its federation URL, None when dangling."""
        if self._behaviour.enabled("ca-keyed-cache"):
            with self._lock:
                cached = self._ca_keyed.get(ca_crt)
            if cached is not None:
                return cached
        specs = self._federation_urls(issuer)
        if not specs:
            raise KeyFuncError("no jwks found", detail=f"no Authorization names issuer {issuer!r}")
        return specs

    def _provider_keys(
        self, url: str, ca_crt: str, token: str, exp: float | None, refresh: bool
    ) -> tuple[Keys, bool]:
        """One Kubernetes provider's GetJWKS: decode `ca.crt`, discovery, then the JWKS;
        (keys, whether they came from the cache)."""
        ca_pem = self._trust(ca_crt)
        owner = self._owner(url)
        version = owner.state_version if owner is not None else None
        if not refresh:
            warm = self._warm(url, ca_pem, token, version, self._clock.now())
            if warm is not None:
                return warm, True  # the hot path: two lookups, two version compares
        path = self._discovered_jwks_path(url, ca_pem, token, exp, owner, version)
        return self._jwks_of(url, path, ca_pem, token, owner, version, refresh)

    def _trust(self, ca_crt: str) -> bytes:
        """The anchors for the upstream's TLS: the caller's `ca.crt` (§5), or in strict mode,
        when the caller sent none, the server-side trust bundle (S17, D6)."""
        if ca_crt or not self._behaviour.strict:
            return decode_ca_crt(ca_crt)
        anchors = self._server_anchors()
        if not anchors:
            raise UpstreamError("no ca.crt sent and no server-side trust anchor configured")
        return anchors

    def _warm(
        self, url: str, ca_pem: bytes, token: str, version: object, now: float
    ) -> Keys | None:
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
    ) -> tuple[Keys, bool]:
        """The JWKS; shared by tokens, since the discovery step already put this token's
        acceptance at this version to the cluster, which applies one rule to both endpoints."""
        now = self._clock.now()
        key = (url + path, ca_pem)
        with self._lock:
            hit = self._jwks.get(key)
        if not refresh and self._fresh(hit, version, now):
            return hit.value, True  # type: ignore[union-attr]
        document = self._get_json(url, path, ca_pem, token, "jwks")
        keys = parse_jwks(document)
        until = self._until(owner, None, now)
        if until is not None:
            with self._lock:
                self._jwks[key] = _Cached(keys, version, until)
        return keys, False

    def _context(self, ca_pem: bytes) -> ssl.SSLContext:
        """Trust exactly the `ca.crt` certificate, as a Go `x509.CertPool` does: every pool
        certificate is an anchor, so an intermediate or a leaf is trusted as it stands."""
        with self._lock:
            ctx = self._contexts.get(ca_pem)
            if ctx is None:
                ctx = ssl.create_default_context(cadata=ca_pem.decode())
                ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                self._contexts[ca_pem] = ctx
            return ctx

    def _get_json(self, url: str, path: str, ca_pem: bytes, token: str, kind: str) -> Any:
        """One GET as Go's `http.Client` sends it: Host, `User-Agent: Go-http-client/1.1`, the
        bearer, `Accept-Encoding: gzip` (a gzip answer is inflated); nothing else."""
        parts = urlsplit(url)
        self.fetches.add(kind)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            server_name = parts.hostname or ""
            if self._behaviour.enabled("sni-with-port"):
                server_name = url[len("https://") :]
            conn = _HTTPSConnection(
                parts.hostname or "",
                parts.port or 443,
                self._context(ca_pem),
                server_name,
                self.fetch_timeout,
            )
        elif parts.scheme == "http":
            conn = http.client.HTTPConnection(
                parts.hostname or "", parts.port or 80, timeout=self.fetch_timeout
            )
        else:
            raise UpstreamError(f"unsupported federation URL scheme in {url!r}")
        try:
            conn.putrequest("GET", parts.path + path, skip_accept_encoding=True)
            conn.putheader("User-Agent", GO_USER_AGENT)
            if not self._behaviour.strict:
                conn.putheader("Authorization", f"Bearer {token}")
            conn.putheader("Accept-Encoding", "gzip")
            conn.endheaders()
            response = conn.getresponse()
            body = response.read()
            if response.getheader("Content-Encoding", "").lower() == "gzip":
                body = gzip.decompress(body)
        except (OSError, ssl.SSLError, http.client.HTTPException, EOFError) as exc:
            raise UpstreamError(f"{kind} fetch from {url} failed: {exc}") from exc
        finally:
            conn.close()
        try:
            return unmarshal(body)
        except GoJSONError as exc:
            raise UpstreamError(
                f"{kind} answer from {url} (status {response.status}) is not JSON"
            ) from exc


def parse_jwks(document: Any) -> dict[str, dict[str, Any] | None]:
    """`json.Unmarshal` into `struct{ Keys []map[string]string "json:\"keys\"" }`, indexed by
    kid: no `keys` member (a Status body), `null` or `"keys": null` is an empty set; a null
    key is indexed under "" with no members; any member that is not a string (or null) fails."""
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise UpstreamError("JWKS is not a JSON object")
    listed: Any = None
    for name, value in document.items():
        if name == "keys" or name.casefold() == "keys":
            listed = value
    if listed is None:
        return {}
    if not isinstance(listed, list):
        raise UpstreamError("JWKS keys member is not an array")
    keys: dict[str, dict[str, Any] | None] = {}
    for jwk in listed:
        if jwk is None:
            keys[""] = None
            continue
        if not isinstance(jwk, dict) or not all(isinstance(v, str | None) for v in jwk.values()):
            raise UpstreamError("JWKS key has a member that is not a string")
        members = {k: v if v is not None else "" for k, v in jwk.items()}
        keys[members.get("kid", "")] = members
    return keys
