"""Everything a federation request reads: live manifests, fake clusters, modes, books, caches."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any

from mockserver.clock import CLOCK, Clock
from mockserver.federation.authenticators.base import Setup
from mockserver.federation.authenticators.registry import Authenticators
from mockserver.federation.bookkeeping import Bookkeeping
from mockserver.federation.idp_keys import IssuerKeys, Network
from mockserver.federation.jwtparse import JWTError, ParsedToken, verify_signature
from mockserver.federation.modes import Behaviour
from mockserver.federation.upstream import KeyResolver

MAX_BODY_BYTES = 1 << 20


class Registry:
    """The loaded manifests, swapped whole on every change so readers never see half an update.

    Under the quirk `sticky-authorizations` the Authorizations ever applied keep authorizing,
    as the real server's never-shrinking store does.
    """

    def __init__(self, model: Any, behaviour: Behaviour) -> None:
        self._lock = threading.Lock()
        self._behaviour = behaviour
        self._initial = model
        self._model = model
        self._ever: list[Any] = list(model.authorizations)
        self._tls_removed: set[str] = set()
        self.version = 0
        """Bumped by every `replace` and `reset`: equal versions mean the same manifests."""

    @property
    def model(self) -> Any:
        return self._model

    def replace(self, model: Any) -> None:
        with self._lock:
            known = {id(a) for a in self._ever}
            self._ever.extend(a for a in model.authorizations if id(a) not in known)
            self._track_tls_removals(self._model.authorizations, model.authorizations)
            self._model = model
            self.version += 1

    def _track_tls_removals(self, old: list[Any], new: list[Any]) -> None:
        """The real allowlist is a set (`tls.go:30-47`): a deleted Authorization removes its
        SPIFFE ID whoever else names it, and only a reconciled (new or changed) one adds it."""
        remaining = {a.name for a in new}
        for gone in old:
            if gone.name not in remaining and gone.spiffe_id:
                self._tls_removed.add(gone.spiffe_id)
        unchanged = set(old)
        for current in new:
            if current not in unchanged and current.spiffe_id:
                self._tls_removed.discard(current.spiffe_id)

    def reset(self) -> None:
        with self._lock:
            self._model = self._initial
            self._ever = list(self._initial.authorizations)
            self._tls_removed.clear()
            self.version += 1

    def tls_allowed(self, spiffe_id: str) -> bool:
        """Whether the mTLS handshake accepts this SPIFFE ID: some current Authorization names
        it; under `spiffe-allowlist-delete` also not removed by a deletion since its last add."""
        if not any(a.spiffe_id == spiffe_id for a in self._model.authorizations):
            return False
        if self._behaviour.enabled("spiffe-allowlist-delete"):
            return spiffe_id not in self._tls_removed
        return True

    def authorizations(self) -> list[Any]:
        if self._behaviour.enabled("sticky-authorizations"):
            return list(self._ever)
        return list(self._model.authorizations)

    def federation_urls(self, issuer: str) -> list[str | None]:
        """One entry per stored spec of the issuer, in Authorization order: the URL of the
        KubernetesFederation its `federationRef` names, None when it names none (Go's
        `GetStore` returns nil and the walk stops with `no provider found`)."""
        model = self._model
        specs: list[str | None] = []
        for authorization in self.authorizations():
            if authorization.oidc is None or authorization.oidc.issuer != issuer:
                continue
            ref = authorization.federation_ref
            federation = model.kubernetes_federations.get(ref.name)
            known = ref.kind == "KubernetesFederation" and federation is not None
            specs.append(federation.url if known else None)
        return specs


@dataclass
class FederationContext:
    """The federation app's dependencies, shared by every listener of one mock."""

    registry: Registry
    clusters: Mapping[str, Any]
    behaviour: Behaviour
    clock: Clock = CLOCK
    home_cluster: str | None = None
    extra_audiences: tuple[str, ...] = ()
    max_body_bytes: int = MAX_BODY_BYTES
    identity_providers: Network | None = None
    """Where Okta and PingOne host names are answered (the mock's fake identity providers)."""
    books: InitVar[Bookkeeping | None] = None
    bookkeeping: Bookkeeping = field(init=False)
    resolver: KeyResolver = field(init=False)
    issuer_keys: IssuerKeys = field(init=False)
    authenticator: Authenticators = field(init=False)

    def __post_init__(self, books: Bookkeeping | None) -> None:
        self.bookkeeping = books if books is not None else Bookkeeping(self.clock)
        self.resolver = KeyResolver(
            self.registry.federation_urls,
            self.behaviour,
            self.clock,
            clusters=self.clusters,
            server_anchors=self.trust_bundle,
        )
        self.issuer_keys = IssuerKeys(
            self.registry, self.identity_providers, self.behaviour, self.clock
        )
        self.authenticator = Authenticators(
            Setup(
                self.resolver,
                self.behaviour,
                self.clock,
                self.extra_audiences,
                issuer_keys=self.issuer_keys,
            )
        )

    def trust_bundle(self) -> bytes:
        """The server-side trust anchors of strict mode: the CA certificates of the mock's fake
        clusters (a bundle's clusters when served from one), in load order."""
        return b"".join(cluster.ca.cert_pem for cluster in self.clusters.values())

    def cluster_for_issuer(self, issuer: str) -> Any | None:
        for cluster in self.clusters.values():
            if cluster.issuer == issuer:
                return cluster
        return None

    def verify_workload_token(self, token: ParsedToken) -> str | None:
        """None when a fake cluster of this mock signed the token and it is in time."""
        cluster = self.cluster_for_issuer(token.issuer)
        if cluster is None:
            return f"issuer {token.issuer!r} is not a known cluster"
        kid = token.header.get("kid")
        key = next((k for k in cluster.keys if k.kid == kid), None)
        if key is None:
            return "signing key is not published by its cluster"
        try:
            if token.alg.startswith(("RS", "PS")):
                verify_signature(token, key.public_key)
            else:
                _verify_non_rsa(token, key)
        except JWTError as exc:
            return str(exc)
        exp = token.claims.get("exp")
        if exp is not None and not self.clock.now() < exp:
            return "token is expired"
        return None

    def reset(self) -> None:
        self.registry.reset()
        self.bookkeeping.reset()
        self.resolver.clear()
        self.issuer_keys.clear()


def _verify_non_rsa(token: ParsedToken, key: Any) -> None:
    """Workload tokens of EC-keyed clusters verify with PyJWT (the protocol path never does)."""
    import jwt

    try:
        jwt.decode(
            token.raw,
            key.public_key,
            algorithms=[key.alg],
            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise JWTError(f"token signature is invalid: {exc}") from exc
