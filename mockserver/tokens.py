"""Service-account tokens shaped exactly like kube-apiserver's, legacy ones, and broken ones.

Clients and servers under test parse these tokens, so the bytes matter: a header of exactly
`{"alg","kid"}`, payload keys sorted (nested too) as go-jose writes them, integer times, `aud`
always an array. The broken kinds are the negative cases a verifier must refuse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from mockserver.keys import SigningKey, b64url, compute_kid, go_json

LEGACY_ISSUER = "kubernetes/serviceaccount"
DEFAULT_DURATION = 3600
MIN_DURATION = 600
MAX_DURATION = 1 << 32
WARN_ONLY_DURATION = 3607
"""The duration admission gives projected tokens; pod-bound requests for it get a year."""
EXTENDED_DURATION = 24 * 365 * 3600


class TokenRequestError(ValueError):
    """A TokenRequest the apiserver refuses; carries the HTTP code, reason and field."""

    def __init__(
        self, message: str, *, code: int = 422, reason: str = "Invalid", field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.field = field


class Bound(Protocol):
    """Anything with a name and a uid: a Pod, a Node, or an `ObjectRef`."""

    @property
    def name(self) -> str: ...

    @property
    def uid(self) -> str | None: ...


@dataclass(frozen=True)
class ObjectRef:
    name: str
    uid: str | None = None


def validate_duration(duration: int) -> None:
    """Refuse what TokenRequest validation refuses, with Kubernetes' field error text."""
    if duration < MIN_DURATION:
        detail = "may not specify a duration less than 10 minutes"
    elif duration > MAX_DURATION:
        detail = "may not specify a duration larger than 2^32 seconds"
    else:
        return
    raise TokenRequestError(
        f"spec.expirationSeconds: Invalid value: {duration}: {detail}",
        field="spec.expirationSeconds",
    )


def _ref(obj: Bound) -> dict[str, str]:
    ref = {"name": obj.name}
    if obj.uid:
        ref["uid"] = obj.uid
    return ref


def bound_claims(
    *,
    issuer: str,
    namespace: str,
    sa_name: str,
    sa_uid: str,
    audiences: Sequence[str] | None,
    now: float,
    duration: int = DEFAULT_DURATION,
    pod: Bound | None = None,
    node: Bound | None = None,
    api_audiences: Sequence[str] | None = None,
    jti: str | None = None,
) -> dict[str, Any]:
    """The payload of a TokenRequest token, keys in go-jose's (sorted) order.

    Empty `audiences` become the API audiences (default `[issuer]`), as TokenRequest fills them.
    """
    validate_duration(duration)
    api_auds = list(api_audiences) if api_audiences else [issuer]
    auds = list(audiences) if audiences else api_auds
    iat = int(now)
    exp = iat + duration
    k8s: dict[str, Any] = {"namespace": namespace}
    if node is not None:
        k8s["node"] = _ref(node)
    if pod is not None:
        k8s["pod"] = _ref(pod)
    k8s["serviceaccount"] = {"name": sa_name, "uid": sa_uid}
    if pod is not None and duration == WARN_ONLY_DURATION and all(a in api_auds for a in auds):
        exp = iat + EXTENDED_DURATION
        k8s["warnafter"] = iat + WARN_ONLY_DURATION
    return {
        "aud": auds,
        "exp": exp,
        "iat": iat,
        "iss": issuer,
        "jti": jti or str(uuid.uuid4()),
        "kubernetes.io": k8s,
        "nbf": iat,
        "sub": f"system:serviceaccount:{namespace}:{sa_name}",
    }


def legacy_claims(*, namespace: str, sa_name: str, sa_uid: str, secret_name: str) -> dict[str, str]:
    """The six claims of a secret-based token: no aud, exp, iat, nbf or jti."""
    return {
        "iss": LEGACY_ISSUER,
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/secret.name": secret_name,
        "kubernetes.io/serviceaccount/service-account.name": sa_name,
        "kubernetes.io/serviceaccount/service-account.uid": sa_uid,
        "sub": f"system:serviceaccount:{namespace}:{sa_name}",
    }


_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


def sign(alg: str, key: SigningKey | bytes | None, signing_input: bytes) -> bytes:
    """A JWS signature: RS* (PKCS#1 v1.5), ES* (raw r||s), HS* (bytes secret), or none."""
    if alg == "none":
        return b""
    if alg.startswith("HS"):
        assert isinstance(key, bytes)
        digest = getattr(hashlib, f"sha{alg[2:]}")
        return hmac.new(key, signing_input, digest).digest()
    assert isinstance(key, SigningKey)
    private = key.private_key
    hash_alg = _HASHES[alg[2:]]()
    if alg.startswith("RS") and isinstance(private, rsa.RSAPrivateKey):
        return private.sign(signing_input, padding.PKCS1v15(), hash_alg)
    if alg.startswith("ES") and isinstance(private, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(private.sign(signing_input, ec.ECDSA(hash_alg)))
        size = (private.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    raise ValueError(f"cannot sign {alg} with a {key.key_type} key")


def encode_jws(
    header: dict[str, Any], payload: dict[str, Any], key: SigningKey | bytes | None
) -> str:
    """Compact JWS with the header and payload bytes exactly as given (Go JSON, sorted payload)."""
    signing_input = (
        b64url(go_json(header)) + "." + b64url(go_json(payload, sort_keys=True))
    ).encode()
    return signing_input.decode() + "." + b64url(sign(header["alg"], key, signing_input))


def mint_token(
    key: SigningKey,
    *,
    issuer: str,
    namespace: str,
    sa_name: str,
    sa_uid: str,
    audiences: Sequence[str] | None = None,
    now: float,
    duration: int = DEFAULT_DURATION,
    pod: Bound | None = None,
    node: Bound | None = None,
    api_audiences: Sequence[str] | None = None,
    jti: str | None = None,
) -> str:
    """A bound token as TokenRequest returns it: header `{"alg","kid"}` and nothing else."""
    payload = bound_claims(
        issuer=issuer,
        namespace=namespace,
        sa_name=sa_name,
        sa_uid=sa_uid,
        audiences=audiences,
        now=now,
        duration=duration,
        pod=pod,
        node=node,
        api_audiences=api_audiences,
        jti=jti,
    )
    return encode_jws({"alg": key.alg, "kid": key.kid}, payload, key)


def mint_legacy_token(
    key: SigningKey, *, namespace: str, sa_name: str, sa_uid: str, secret_name: str
) -> str:
    """A `kubernetes.io/service-account-token` Secret token (derived kid, as since 1.17)."""
    payload = legacy_claims(
        namespace=namespace, sa_name=sa_name, sa_uid=sa_uid, secret_name=secret_name
    )
    return encode_jws({"alg": key.alg, "kid": key.kid}, payload, key)


BROKEN_KINDS: dict[str, str] = {
    "expired": "exp is an hour in the past",
    "expired-seconds-ago": "exp is 5 seconds in the past (within kube-apiserver's 60 s leeway)",
    "not-yet-valid": "nbf and iat are an hour in the future",
    "foreign-key": "carries the signing key's kid but is signed by a key not in the JWKS",
    "unknown-kid": "its kid names no key in the JWKS",
    "no-kid": "has no kid header, so a JWKS verifier cannot pick a key",
    "non-string-kid": "its kid header is a number, not a string",
    "alg-none": "is unsigned (alg none)",
    "hs256-public-key": "is HS256-signed with the public key PEM as the HMAC secret",
    "wrong-issuer": "iss is not the cluster's issuer",
    "wrong-audience": "aud names no audience the verifier accepts",
    "tampered-payload": "its payload was changed after signing (exp pushed out a year)",
}
"""Deliberately broken token kinds, each with the reason a verifier must refuse it."""

WRONG_ISSUER = "https://wrong-issuer.example.com"
WRONG_AUDIENCE = "https://wrong-audience.example.com"
_FOREIGN: dict[str, SigningKey] = {}


def foreign_key(key_type: str) -> SigningKey:
    """A process-wide key that no fake cluster publishes, for the foreign-key kinds."""
    if key_type not in _FOREIGN:
        _FOREIGN[key_type] = SigningKey.generate(key_type)
    return _FOREIGN[key_type]


def mint_broken_token(
    kind: str,
    key: SigningKey,
    *,
    issuer: str,
    namespace: str,
    sa_name: str,
    sa_uid: str,
    audiences: Sequence[str] | None = None,
    now: float,
    pod: Bound | None = None,
    node: Bound | None = None,
    api_audiences: Sequence[str] | None = None,
    other_key: SigningKey | None = None,
) -> str:
    """A token of one of `BROKEN_KINDS`, otherwise identical to what `mint_token` gives."""
    if kind not in BROKEN_KINDS:
        raise ValueError(
            f"unknown broken token kind {kind!r}: expected one of {list(BROKEN_KINDS)}"
        )
    now = int(now)
    shift = {"expired": -7200, "expired-seconds-ago": -3605, "not-yet-valid": 3600}.get(kind, 0)
    payload = bound_claims(
        issuer=WRONG_ISSUER if kind == "wrong-issuer" else issuer,
        namespace=namespace,
        sa_name=sa_name,
        sa_uid=sa_uid,
        audiences=[WRONG_AUDIENCE] if kind == "wrong-audience" else audiences,
        now=now + shift,
        pod=pod,
        node=node,
        api_audiences=api_audiences,
    )
    header: dict[str, Any] = {"alg": key.alg, "kid": key.kid}
    signer: SigningKey | bytes | None = key
    other = other_key or foreign_key(key.key_type)
    if kind == "foreign-key":
        signer = other
    elif kind == "unknown-kid":
        header["kid"] = compute_kid(other.public_key)
    elif kind == "no-kid":
        del header["kid"]
    elif kind == "non-string-kid":
        header["kid"] = 12345
    elif kind == "alg-none":
        header["alg"], signer = "none", None
    elif kind == "hs256-public-key":
        header["alg"] = "HS256"
        signer = key.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    token = encode_jws(header, payload, signer)
    if kind == "tampered-payload":
        head, _, sig = token.split(".")
        payload["exp"] += EXTENDED_DURATION
        token = f"{head}.{b64url(go_json(payload, sort_keys=True))}.{sig}"
    return token


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, payload, signing input, signature) without checking anything; ValueError if the
    token is not a three-part compact JWS with JSON objects."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS")
    try:
        header = json.loads(_b64decode(parts[0]))
        payload = json.loads(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed JWS: {exc}") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise ValueError("JWS header and payload must be JSON objects")
    return header, payload, f"{parts[0]}.{parts[1]}".encode(), signature


def verify_signature(key: SigningKey, alg: str, signing_input: bytes, signature: bytes) -> bool:
    """Whether `signature` is `key`'s `alg` signature over `signing_input` (the key's alg only)."""
    if alg != key.alg:
        return False
    public = key.public_key
    hash_alg = _HASHES[alg[2:]]()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, signing_input, padding.PKCS1v15(), hash_alg)
        else:
            size = (public.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                return False
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            public.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hash_alg))
    except InvalidSignature:
        return False
    return True
