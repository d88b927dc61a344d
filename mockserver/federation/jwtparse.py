"""JWT parsing and verification in golang-jwt v5.3.0's order, with its error texts.

The real server's 401 bodies are these errors' strings; reproducing the order (split, decode,
algorithm lookup, key function, signature, claims) makes the mock refuse exactly what it refuses.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mockserver.federation.jwtclaims import (
    KUBERNETES_CLAIMS,
    ClaimsError,
    ClaimsType,
    decode_claims,
)
from mockserver.godecode import GoJSONError, kind_of, unmarshal

KNOWN_ALGS = frozenset(
    {
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512", "HS256", "HS384", "HS512", "EdDSA", "none",
    }
)  # fmt: skip
_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class JWTError(Exception):
    """A parse or verification failure; `str()` is golang-jwt's message."""


class KeyFuncError(JWTError):
    """The key function failed; `detail` keeps the underlying reason for the journal."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(f"token is unverifiable: error while executing keyfunc: {message}")
        self.reason = message
        self.detail = detail or message


@dataclass(frozen=True)
class ParsedToken:
    raw: str
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature_segment: str

    @property
    def signature(self) -> bytes:
        """The third segment, decoded only when verifying (`ParseUnverified` never reads it)."""
        try:
            return _decode_segment(self.signature_segment)
        except ValueError as exc:
            raise JWTError(f"token is malformed: could not base64 decode signature: {exc}") from exc

    @property
    def alg(self) -> str:
        return self.header["alg"]

    @property
    def issuer(self) -> str:
        iss = self.claims.get("iss")
        return iss if isinstance(iss, str) else ""

    @property
    def subject(self) -> str:
        sub = self.claims.get("sub")
        return sub if isinstance(sub, str) else ""

    @property
    def audiences(self) -> tuple[str, ...]:
        aud = self.claims.get("aud")
        if isinstance(aud, str):
            return (aud,)
        if isinstance(aud, list):
            return tuple(a for a in aud if isinstance(a, str))
        return ()


def _decode_segment(segment: str) -> bytes:
    """base64url without padding, refusing padding as Go's RawURLEncoding does."""
    if not _B64URL.fullmatch(segment):
        bad = next(i for i, c in enumerate(segment) if not _B64URL.fullmatch(c))
        raise ValueError(f"illegal base64 data at input byte {bad}")
    if len(segment) % 4 == 1:
        raise ValueError(f"illegal base64 data at input byte {len(segment) - 1}")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except binascii.Error as exc:  # pragma: no cover - the checks above catch these
        raise ValueError(str(exc)) from exc


def _decode_json_object(raw: bytes, what: str) -> dict[str, Any]:
    """`json.Unmarshal` into `map[string]interface{}`: `null` leaves the map empty."""
    try:
        value = unmarshal(raw)
    except GoJSONError as exc:
        raise JWTError(f"token is malformed: could not JSON decode {what}: {exc}") from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise JWTError(
            f"token is malformed: could not JSON decode {what}: "
            f"json: cannot unmarshal {kind_of(value)} into Go value of type "
            "map[string]interface {}"
        )
    return value


@functools.lru_cache(maxsize=1024)
def parse_unverified(token: str, claims_type: ClaimsType = KUBERNETES_CLAIMS) -> ParsedToken:
    """Split and decode a compact JWT and look its algorithm up, as ParseUnverified does; the
    claims decode into `claims_type` (the Go struct the real caller passes).

    Clients repeat their token on every request, so parses are kept (failures are not); the
    result is shared and must be treated as read-only.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise JWTError("token is malformed: token contains an invalid number of segments")
    try:
        header_raw = _decode_segment(parts[0])
    except ValueError as exc:
        raise JWTError(f"token is malformed: could not base64 decode header: {exc}") from exc
    header = _decode_json_object(header_raw, "header")
    try:
        claims_raw = _decode_segment(parts[1])
    except ValueError as exc:
        raise JWTError(f"token is malformed: could not base64 decode claim: {exc}") from exc
    try:
        claims = decode_claims(claims_raw, claims_type)
    except ClaimsError as exc:
        raise JWTError(f"token is malformed: could not JSON decode claim: {exc}") from exc
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise JWTError("token is unverifiable: signing method (alg) is unspecified")
    if alg not in KNOWN_ALGS:
        raise JWTError("token is unverifiable: signing method (alg) is unavailable")
    return ParsedToken(token, header, claims, f"{parts[0]}.{parts[1]}".encode(), parts[2])


_VERIFIED: OrderedDict[tuple[int, str], rsa.RSAPublicKey] = OrderedDict()
_VERIFIED_LOCK = threading.Lock()
_VERIFIED_MAX = 1024


def verify_signature(token: ParsedToken, key: rsa.RSAPublicKey) -> None:
    """Verify with the header's algorithm and an RSA key: RS* and PS* pass, the rest cannot.

    The same token bytes under the same key object verify the same way every time, so a success
    is remembered (the key is kept in the entry, so its id cannot be reused meanwhile).
    """
    remembered = (id(key), token.raw)
    with _VERIFIED_LOCK:
        if _VERIFIED.get(remembered) is key:
            _VERIFIED.move_to_end(remembered)
            return
    _verify_signature(token, key)
    with _VERIFIED_LOCK:
        _VERIFIED[remembered] = key
        if len(_VERIFIED) > _VERIFIED_MAX:
            _VERIFIED.popitem(last=False)


def _verify_signature(token: ParsedToken, key: rsa.RSAPublicKey) -> None:
    alg = token.alg
    if alg == "none":
        raise JWTError(
            "token signature is invalid: token is unverifiable: 'none' signature type is not allowed"
        )
    if alg.startswith("HS"):
        raise JWTError(
            "token signature is invalid: key is of invalid type: HMAC verify expects []byte"
        )
    if alg.startswith("ES"):
        raise JWTError(
            "token signature is invalid: key is of invalid type: "
            "ECDSA verify expects *ecdsa.PublicKey"
        )
    if alg == "EdDSA":
        raise JWTError(
            "token signature is invalid: key is of invalid type: "
            "Ed25519 verify expects ed25519.PublicKey"
        )
    digest = _HASHES[alg[2:]]()
    if alg.startswith("RS"):
        pad: padding.AsymmetricPadding = padding.PKCS1v15()
        failure = "crypto/rsa: verification error"
    else:
        pad = padding.PSS(mgf=padding.MGF1(digest), salt_length=padding.PSS.AUTO)
        failure = "crypto/rsa: verification error"
    try:
        key.verify(token.signature, token.signing_input, pad, digest)
    except (InvalidSignature, ValueError) as exc:
        raise JWTError(f"token signature is invalid: {failure}") from exc


def validate_time_claims(token: ParsedToken, now: float, require_exp: bool = False) -> None:
    """exp and nbf with zero leeway, each only when present (exp required in strict mode); both
    failures are reported together, joined by ", " as golang-jwt's validator joins them."""
    failures = []
    exp = token.claims.get("exp")
    if exp is None and require_exp:
        failures.append("token is missing required claim: exp claim is required")
    elif exp is not None and not now < exp:
        failures.append("token is expired")
    nbf = token.claims.get("nbf")
    if nbf is not None and now < nbf:
        failures.append("token is not valid yet")
    if failures:
        raise JWTError(f"token has invalid claims: {', '.join(failures)}")


def parse_and_verify(
    token: str,
    keyfunc: Callable[[ParsedToken], rsa.RSAPublicKey],
    now: float,
    require_exp: bool = False,
) -> ParsedToken:
    """The whole golang-jwt Parse: unverified parse, key function, signature, claims."""
    parsed = parse_unverified(token)
    parsed.signature  # noqa: B018 - decoded before the key function, as ParseWithClaims does
    key = keyfunc(parsed)
    verify_signature(parsed, key)
    validate_time_claims(parsed, now, require_exp)
    return parsed


def rsa_key_from_jwk(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    """Build an RSA public key from a JWK's unpadded base64url `n` and `e`, failing with the
    real server's texts (`n not found in key`, `failed to decode modulus: …`)."""
    for member in ("n", "e"):
        if member not in jwk:
            raise KeyFuncError(f"{member} not found in key")
    try:
        return _rsa_key(str(jwk["n"]), str(jwk["e"]))
    except _KeyPartError as exc:
        raise KeyFuncError(str(exc)) from exc


class _KeyPartError(ValueError):
    pass


@functools.lru_cache(maxsize=256)
def _rsa_key(n: str, e: str) -> rsa.RSAPublicKey:
    """Keys repeat on every request of a cluster: build each one once."""
    parts = []
    for text, what in ((n, "modulus"), (e, "exponent")):
        try:
            parts.append(int.from_bytes(_decode_segment(text), "big"))
        except ValueError as exc:
            raise _KeyPartError(f"failed to decode {what}: {exc}") from exc
    modulus, exponent = parts
    try:
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except ValueError as exc:  # Go builds the key anyway and fails at verification
        raise JWTError("token signature is invalid: crypto/rsa: verification error") from exc
