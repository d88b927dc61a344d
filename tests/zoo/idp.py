"""Okta and PingOne callers (docs/protocol.md §3.3, §3.4), written from the protocol alone.

A bearer token whose issuer an Authorization binds to an OktaFederation or a
PingIdentityFederation goes this way; anything else stays with the Kubernetes path. The keys
come from the federation the Authorization names: Okta at `{domain}/oauth2/v1/keys` (org server)
or `{domain}/oauth2/{id}/v1/keys`, PingOne through the discovery document of
`https://auth.pingone.{region}/{environmentId}/as`. The fake providers are reached through
`routes` (public host name → `address:port`), as a vendor's hosts file and port mapping would,
trusting the CAs given: nothing else is contacted.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.zoo.auth import HASHES, AuthError, Token, _int, parse_token
from tests.zoo.points import Points
from tests.zoo.world import Authorization, World

IDP_METHODS = {"OktaFederation": "okta", "PingIdentityFederation": "pingidentity"}
RSA_ALGS = ("RS256", "RS384", "RS512")
KEY_TTL = 60.0


@dataclass(frozen=True)
class Caller:
    """Who an Okta or PingOne token names: the method, the issuer (store key) and subject."""

    method: str
    issuer: str
    subject: str


class IdPNetwork:
    """HTTPS GETs to the fake providers' public names, routed to where they listen."""

    def __init__(self, routes: Mapping[str, str], ca_pems: Sequence[bytes]) -> None:
        self.routes = dict(routes)
        cadata = "".join(p.decode() for p in ca_pems)
        self._context = ssl.create_default_context(cadata=cadata or None)

    def get(self, url: str) -> Any:
        """The JSON at `url`; AuthError when it cannot be fetched or is not JSON."""
        parts = urllib.parse.urlsplit(url)
        address = self.routes.get(parts.netloc)
        if parts.scheme != "https" or address is None:
            raise AuthError(f"no route to {parts.netloc or url}")
        host, _, port = address.rpartition(":")
        conn = HTTPConnection(parts.netloc, timeout=10)
        try:
            raw = socket.create_connection((host, int(port)), timeout=10)
            conn.sock = self._context.wrap_socket(raw, server_hostname=parts.hostname)
            conn.request("GET", parts.path or "/")
            answer = conn.getresponse()
            status, body = answer.status, answer.read()
        except (OSError, ssl.SSLError, HTTPException) as exc:
            raise AuthError(f"fetch from {url} failed: {exc}") from None
        finally:
            conn.close()
        if status != 200:
            raise AuthError(f"{url} answered {status}")
        try:
            return json.loads(body)
        except ValueError:
            raise AuthError(f"{url} answered no JSON") from None


class IdPAuthenticator:
    """The Okta and PingIdentity checks, in the protocol's order, each a registered point."""

    def __init__(self, world: World, network: IdPNetwork | None, points: Points) -> None:
        self.world = world
        self.network = network
        self.points = points
        self._cache: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    # -- which path ------------------------------------------------------------------------------

    def specs(self, issuer: str) -> list[Authorization]:
        """The Authorizations keyed by `issuer` (the store lookup)."""
        return [
            a
            for a in self.world.authorizations()
            if not a.spiffe and self.points.compare("idp-issuer", a.issuer, issuer)
        ]

    def method_for(self, header: str) -> str | None:
        """`okta` or `pingidentity` when the token's issuer is bound to that Federation kind."""
        token = header.split(None, 1)[-1] if header.strip() else ""
        try:
            issuer = parse_token(token.strip()).claims.get("iss")
        except ValueError:
            return None
        if not isinstance(issuer, str) or not issuer:
            return None
        for spec in self.specs(issuer):
            if spec.federation_kind in IDP_METHODS:
                return IDP_METHODS[spec.federation_kind]
        return None

    # -- the checks ------------------------------------------------------------------------------

    def authenticate(self, header: str, method: str) -> Caller:
        """The caller, or AuthError with the protocol's text (§3.3 steps 1-7)."""
        token = self._bearer(header)
        try:
            parsed = parse_token(token)
        except ValueError as exc:
            raise AuthError(f"failed to parse token: {exc}") from None
        issuer = parsed.claims.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise AuthError("token missing issuer claim")
        specs = self.specs(issuer)
        if not specs:
            raise AuthError(f"no authorization configured for issuer: {issuer}")
        keys = self._keys(specs, refresh=False)
        try:
            self._verify(parsed, keys)
        except _UnknownKid:
            self._verify(parsed, self._keys(specs, refresh=True))
        self._times(parsed.claims)
        return Caller(method, issuer, self._subject(parsed.claims, method))

    def _bearer(self, header: str) -> str:
        if not header:
            raise AuthError("missing Authorization header")
        scheme, space, rest = header.partition(" ")
        variant = self.points.variant("idp-bearer-header")
        if not space and variant == "lenient-bare":
            scheme, rest = "Bearer", header
        elif not space or not self.points.compare("idp-bearer-scheme", "Bearer", scheme):
            raise AuthError("invalid Authorization header format, expected 'Bearer <token>'")
        token = rest.strip() if variant == "lenient-trim" else rest
        if not token:
            raise AuthError("empty token in Authorization header")
        return token

    def _verify(self, token: Token, keys: dict[str, dict[str, Any]]) -> None:
        alg = token.header.get("alg")
        variant = self.points.variant("idp-alg")
        if alg == "none" and variant == "lenient-none":
            return
        allowed = RSA_ALGS + (("PS256", "PS384", "PS512") if variant == "lenient-pss" else ())
        if alg not in allowed:
            raise AuthError(f"token validation failed: unexpected signing method: {alg}")
        kid = token.header.get("kid")
        if self.points.variant("idp-kid") == "lenient-first-key" and not isinstance(kid, str):
            jwk = next(iter(keys.values()), None)
        elif not isinstance(kid, str):
            raise AuthError("token validation failed: token missing 'kid' in header")
        else:
            jwk = keys.get(kid)
            if jwk is None:
                raise _UnknownKid(kid)
        if jwk is None or jwk.get("kty") != "RSA":
            raise AuthError("token validation failed: unsupported key type")
        if self.points.variant("idp-signature") == "lenient-unchecked":
            return
        key = rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
        bits = str(alg)[2:]
        pad: padding.AsymmetricPadding = (
            padding.PKCS1v15()
            if str(alg).startswith("RS")
            else padding.PSS(padding.MGF1(HASHES[bits]()), padding.PSS.AUTO)
        )
        try:
            key.verify(token.signature, token.signing_input, pad, HASHES[bits]())
        except InvalidSignature:
            raise AuthError(
                "token validation failed: token signature is invalid: verification error"
            ) from None

    def _times(self, claims: dict[str, Any]) -> None:
        variant = self.points.variant("idp-times")
        now = time.time()
        leeway = 60 if variant == "lenient-leeway" else 0
        if "exp" in claims and not now < claims["exp"] + leeway:
            raise AuthError("token validation failed: token has invalid claims: token is expired")
        if "nbf" in claims and variant != "lenient-ignore-nbf" and now < claims["nbf"]:
            raise AuthError(
                "token validation failed: token has invalid claims: token is not valid yet"
            )
        if "exp" not in claims and variant != "lenient-optional-exp":
            raise AuthError("token missing expiration claim")

    def _subject(self, claims: dict[str, Any], method: str) -> str:
        variant = self.points.variant("idp-subject-claim")
        subject = claims.get("sub")
        if isinstance(subject, str) and subject:
            return subject
        client_id = claims.get("client_id")
        if method == "pingidentity" and variant != "strict-sub-only":
            if isinstance(client_id, str) and client_id:
                return client_id
            if variant != "lenient-empty":
                raise AuthError("token missing both subject and client_id claims")
            return ""
        if variant == "lenient-empty":
            return ""
        raise AuthError("token missing subject claim")

    # -- keys ------------------------------------------------------------------------------------

    def _keys(self, specs: list[Authorization], refresh: bool) -> dict[str, dict[str, Any]]:
        """The key set of the first spec whose federation answers (`failed to get JWKS: …`)."""
        for spec in specs:
            federation = self.world.get(spec.federation_kind, spec.federation_name)
            if federation is None:
                raise AuthError("failed to get JWKS: no provider found")
            try:
                return self._federation_keys(spec.federation_kind, federation, refresh)
            except AuthError:
                continue  # the next spec's provider may answer
        raise AuthError("failed to get JWKS: no jwks found")

    def _federation_keys(
        self, kind: str, federation: dict[str, Any], refresh: bool
    ) -> dict[str, dict[str, Any]]:
        spec = federation.get("spec") or {}
        if self.network is None:
            raise AuthError("no network to the identity providers")
        if kind == "OktaFederation":
            server = str(spec.get("authorizationServerId") or "")
            path = "/oauth2/v1/keys" if not server else f"/oauth2/{server}/v1/keys"
            url = str(spec.get("domain", "")).rstrip("/") + path
        elif kind == "PingIdentityFederation":
            base = f"https://auth.pingone.{spec.get('region')}/{spec.get('environmentId')}/as"
            url = self._jwks_uri(base + "/.well-known/openid-configuration", refresh)
        else:
            raise AuthError("not an identity provider federation")
        with self._lock:
            kept = self._cache.get(url)
        if kept is not None and not refresh and time.monotonic() - kept[0] < KEY_TTL:
            return kept[1]
        document = self.network.get(url)
        found = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(found, list):
            raise AuthError("not a JWKS")
        keys = {k["kid"]: k for k in found if isinstance(k, dict) and isinstance(k.get("kid"), str)}
        with self._lock:
            self._cache[url] = (time.monotonic(), keys)
        return keys

    def _jwks_uri(self, discovery: str, refresh: bool) -> str:
        key = "discovery " + discovery
        with self._lock:
            kept = self._cache.get(key)
        if kept is not None and not refresh and time.monotonic() - kept[0] < KEY_TTL:
            return str(kept[1]["jwks_uri"])
        assert self.network is not None
        document = self.network.get(discovery)
        uri = document.get("jwks_uri") if isinstance(document, dict) else None
        if not isinstance(uri, str) or not uri:
            raise AuthError("discovery document missing jwks_uri field")
        with self._lock:
            self._cache[key] = (time.monotonic(), {"jwks_uri": uri})  # type: ignore[dict-item]
        return uri


class _UnknownKid(AuthError):
    def __init__(self, kid: str) -> None:
        super().__init__(f"token validation failed: key with kid '{kid}' not found in JWKS")
