"""Authentication of Kubernetes service-account tokens: `ca.crt`, key discovery, verification.

Keys are cached per (federation URL, CA) for a short time and fetched again at once for an
unknown `kid`; discovery runs only on a cache miss, with the caller's token as bearer unless
the server was told not to forward it.
"""

from __future__ import annotations

import base64
import binascii
import json
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.zoo.points import Points

KNOWN_ALGS = frozenset(
    f"{family}{bits}" for family in ("HS", "RS", "PS", "ES") for bits in (256, 384, 512)
) | {"EdDSA", "none"}
RSA_JWK_ALGS = ("RS256", "RS384", "RS512")
HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
KEY_TTL = 60.0


class AuthError(Exception):
    """Authentication failed: 401 with this text."""


class DropConnection(Exception):
    """Close the connection without an HTTP response."""


@dataclass(frozen=True)
class Token:
    """A compact JWS split into its decoded parts."""

    raw: str
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _b64url(segment: str, padded: bool = False) -> bytes:
    if padded:
        segment = segment.rstrip("=")
    if "=" in segment or "+" in segment or "/" in segment:
        raise ValueError("illegal base64 data")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def parse_token(raw: str, points: Points | None = None) -> Token:
    """Split and decode without verifying; ValueError names what is wrong."""
    points = points or Points()
    padded = points.variant("jwt-segments") == "lenient-padding"
    parts = [p.rstrip("=") for p in raw.split(".")] if padded else raw.split(".")
    if len(parts) != 3:
        raise ValueError("token contains an invalid number of segments")
    try:
        header = json.loads(_b64url(parts[0], padded))
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"could not base64 decode or JSON decode header: {exc}") from None
    try:
        claims = json.loads(_b64url(parts[1], padded))
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"could not base64 decode or JSON decode claim: {exc}") from None
    try:
        signature = _b64url(parts[2], padded)
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"could not base64 decode signature: {exc}") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("header and claims must be JSON objects")
    for name in ("exp", "nbf", "iat"):
        if name in claims and (
            isinstance(claims[name], bool) or not isinstance(claims[name], int | float)
        ):
            raise ValueError(f"could not JSON decode claim {name}")
    for name in ("iss", "sub"):
        if name in claims and not isinstance(claims[name], str):
            raise ValueError(f"could not JSON decode claim {name}")
    if points.variant("jwt-segments") == "strict-typ" and header.get("typ") != "JWT":
        raise ValueError("the header has no typ JWT")
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise ValueError("signing method (alg) is unspecified")
    if alg not in KNOWN_ALGS:
        raise ValueError("signing method (alg) is unavailable")
    return Token(raw, header, claims, f"{parts[0]}.{parts[1]}".encode(), signature)


# -- ca.crt ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrustAnchor:
    """The CA a caller supplied, or `None` pem for "verify nothing" (defects only)."""

    pem: str | None

    def context(self) -> ssl.SSLContext:
        if self.pem is None:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cadata=self.pem)


def _ca_bytes(value: str, defects: Collection[str], points: Points) -> bytes:
    """Go's base64.StdEncoding: padded, standard alphabet, CR and LF ignored."""
    variant = points.variant("ca-base64")
    text = value if variant == "strict-no-newlines" else value.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    if variant == "lenient-urlsafe":
        try:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            pass
    raw_pem = "ca-raw-pem" in defects or variant == "lenient-raw-pem"
    if raw_pem and value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    raise AuthError("illegal base64 data in ca.crt")


def parse_ca(value: str, defects: Collection[str], points: Points | None = None) -> TrustAnchor:
    """Standard padded base64 of a PEM whose first block is a CERTIFICATE; like Go's
    pem.Decode, text before the block is skipped and later blocks are ignored."""
    points = points or Points()
    if not value:
        if "optional-body" in defects or points.variant("body-json") == "lenient-non-object":
            return TrustAnchor(None)
        raise AuthError("no ca.crt given")
    data = _ca_bytes(value, defects, points)
    text = data.decode("latin-1")
    begin = text.find("-----BEGIN ")
    pem_variant = points.variant("ca-pem")
    if pem_variant == "strict-leading-text" and begin > 0:
        raise AuthError("failed to decode PEM block: text before the block")
    if pem_variant == "strict-single-block" and text.count("-----BEGIN ") > 1:
        raise AuthError("failed to decode PEM block: more than one block")
    if pem_variant == "strict-lf-only" and "\r" in text:
        raise AuthError("failed to decode PEM block: CRLF line ends")
    if begin < 0:
        if "ca-der" in defects or pem_variant == "lenient-der":
            try:
                cert = x509.load_der_x509_certificate(data)
            except ValueError:
                raise AuthError("failed to decode PEM block") from None
            return TrustAnchor(cert.public_bytes(serialization.Encoding.PEM).decode())
        raise AuthError("failed to decode PEM block")
    block_type = text[begin + len("-----BEGIN ") :].split("-----", 1)[0]
    end_marker = f"-----END {block_type}-----"
    end = text.find(end_marker, begin)
    if end < 0:
        raise AuthError("failed to decode PEM block")
    if block_type != "CERTIFICATE":
        if "ca-any-block" in defects or pem_variant == "lenient-any-block":
            return TrustAnchor(None)
        raise AuthError("invalid PEM block type")
    pem = text[begin : end + len(end_marker)].replace("\r\n", "\n") + "\n"
    try:
        x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise AuthError(f"x509: {exc}") from None
    return TrustAnchor(pem)


# -- keys ------------------------------------------------------------------------------------


def _get(url: str, anchor: TrustAnchor, bearer: str | None) -> Any:
    request = urllib.request.Request(url, method="GET")
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(request, timeout=10, context=anchor.context()) as answer:
            body = answer.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    except (OSError, ssl.SSLError) as exc:
        raise AuthError(f"no jwks found: {exc}") from None
    try:
        return json.loads(body)
    except ValueError:
        raise AuthError("no jwks found: upstream answer is not JSON") from None


class KeyCache:
    """JWKS per (federation URL, CA), fetched through discovery on a miss."""

    def __init__(self, forward_bearer: bool, defects: Collection[str]) -> None:
        self.forward_bearer = forward_bearer
        self.defects = defects
        self._cache: dict[tuple[str, str | None], tuple[float, dict[str, dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def _cache_key(self, url: str, anchor: TrustAnchor) -> tuple[str, str | None]:
        if "ca-keyed-cache" in self.defects:
            return ("", anchor.pem)
        return (url, anchor.pem)

    def keys(
        self, url: str, anchor: TrustAnchor, bearer: str, refresh: bool = False
    ) -> dict[str, dict[str, Any]]:
        """kid → JWK for the federation at `url`."""
        key = self._cache_key(url, anchor)
        with self._lock:
            cached = self._cache.get(key)
        if (
            cached
            and not refresh
            and ("keys-forever" in self.defects or time.monotonic() - cached[0] < KEY_TTL)
        ):
            return cached[1]
        if refresh and cached and "keys-forever" in self.defects:
            return cached[1]
        keys = self._fetch(url.rstrip("/"), anchor, bearer)
        with self._lock:
            self._cache[key] = (time.monotonic(), keys)
        return keys

    def _fetch(self, url: str, anchor: TrustAnchor, bearer: str) -> dict[str, dict[str, Any]]:
        forward = bearer if self.forward_bearer else None
        if "skip-discovery" in self.defects:
            path = "/openid/v1/jwks"
        else:
            document = _get(f"{url}/.well-known/openid-configuration", anchor, forward)
            jwks_uri = document.get("jwks_uri") if isinstance(document, dict) else None
            if not isinstance(jwks_uri, str):
                raise AuthError("no jwks found: discovery document has no jwks_uri")
            path = urllib.parse.urlsplit(jwks_uri).path
        jwks = _get(f"{url}{path}", anchor, forward)
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise AuthError("no jwks found: not a JWKS")
        return {
            k["kid"] if isinstance(k.get("kid"), str) else "": k
            for k in jwks["keys"]
            if isinstance(k, dict)
        }


# -- verification ----------------------------------------------------------------------------


def _int(value: str) -> int:
    return int.from_bytes(_b64url(value), "big")


def public_key(jwk: dict[str, Any], defects: Collection[str]) -> Any:
    """The verification key a JWK stands for (RSA only, unless a defect says otherwise)."""
    alg = jwk.get("alg")
    if alg in RSA_JWK_ALGS and jwk.get("kty") == "RSA":
        return rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
    if "accept-es256" in defects and jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        return ec.EllipticCurvePublicNumbers(
            _int(jwk["x"]), _int(jwk["y"]), ec.SECP256R1()
        ).public_key()
    raise AuthError(f"algorithm {alg} not supported")


def verify_signature(token: Token, key: Any, defects: Collection[str]) -> None:
    """Check the signature with the header's algorithm and `key`; AuthError when it fails."""
    alg = token.header["alg"]
    if "skip-signature" in defects:
        return
    if alg == "none" and "accept-alg-none" in defects:
        return
    try:
        if alg[:2] in ("RS", "PS") and isinstance(key, rsa.RSAPublicKey):
            if alg == "RS256" and "rs256-refused" in defects:
                raise AuthError("token signature is invalid: RS256 is not allowed")
            pad = (
                padding.PKCS1v15()
                if alg.startswith("RS")
                else padding.PSS(padding.MGF1(HASHES[alg[2:]]()), padding.PSS.AUTO)
            )
            key.verify(token.signature, token.signing_input, pad, HASHES[alg[2:]]())
            return
        if alg == "HS256" and "accept-hs256-public-key" in defects:
            secret = key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            mac = hmac.HMAC(secret, hashes.SHA256())
            mac.update(token.signing_input)
            mac.verify(token.signature)
            return
        if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
            half = len(token.signature) // 2
            r = int.from_bytes(token.signature[:half], "big")
            s = int.from_bytes(token.signature[half:], "big")
            key.verify(encode_dss_signature(r, s), token.signing_input, ec.ECDSA(hashes.SHA256()))
            return
    except InvalidSignature:
        raise AuthError("token signature is invalid: verification error") from None
    raise AuthError("token signature is invalid: key is of invalid type")


def check_times(claims: dict[str, Any], defects: Collection[str], points: Points) -> None:
    """exp (if present) and nbf (if present), zero leeway."""
    now = time.time()
    variant = points.variant("times")
    leeway = 60 if "exp-leeway" in defects or variant == "lenient-leeway" else 0
    if "exp" in claims and "ignore-exp" not in defects and not now < claims["exp"] + leeway:
        raise AuthError("token has invalid claims: token is expired")
    ignore_nbf = "ignore-nbf" in defects or variant == "lenient-ignore-nbf"
    if "nbf" in claims and not ignore_nbf and now < claims["nbf"]:
        raise AuthError("token has invalid claims: token is not valid yet")


def verify(
    token: Token,
    keys_for: Callable[[bool], dict[str, dict[str, Any]]],
    defects: Collection[str],
    points: Points | None = None,
) -> None:
    """Pick the key by kid (fetching once more for an unknown one), verify, check times."""
    points = points or Points()
    ignore_kid = "ignore-kid" in defects or points.variant("kid") == "lenient-first-key"
    kid = token.header.get("kid")
    if not isinstance(kid, str) and not ignore_kid:
        if "kidless-drop" in defects:
            raise DropConnection("token without a string kid")
        raise AuthError("token is unverifiable: token header has no string kid")
    if token.header["alg"] == "none" and "accept-alg-none" in defects:
        check_times(token.claims, defects, points)
        return
    keys = keys_for(False)
    if ignore_kid:
        candidates = [k for k in keys.values() if k.get("kty") == "RSA"]
        jwk = candidates[0] if candidates else None
    else:
        jwk = keys.get(kid)  # type: ignore[arg-type]
        if jwk is None:
            jwk = keys_for(True).get(kid)  # type: ignore[arg-type]
    if jwk is None:
        raise AuthError("token is unverifiable: found right store, but kid not found in jwks")
    verify_signature(token, public_key(jwk, defects), defects)
    check_times(token.claims, defects, points)
