"""Service-account signing keys, the Kubernetes kid, and JWKs with Kubernetes' member order.

A verifier looks a token's kid up in the published JWKS, so the kid here must be derived exactly
as kube-apiserver derives it (SHA-256 over the DER SubjectPublicKeyInfo, base64url unpadded), and
the JWK members must come out in the order kube-apiserver writes them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mockserver.files import write_private_file
from mockserver.gojson import go_marshal_plain

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

KEY_TYPES = ("rsa", "ec")

# curve name -> (JOSE curve, alg, coordinate size in bytes)
_CURVES: dict[str, tuple[str, str, int]] = {
    "secp256r1": ("P-256", "ES256", 32),
    "secp384r1": ("P-384", "ES384", 48),
    "secp521r1": ("P-521", "ES512", 66),
}


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JOSE writes every binary member."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def go_json(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact JSON as Go writes it; dict order is kept (struct fields) unless `sort_keys`.

    JWKS, discovery documents and token segments all need the bytes kube-apiserver produces.
    """
    return go_marshal_plain(value, sort_keys=sort_keys)


def _public_of(key: PublicKey | PrivateKey | SigningKey) -> PublicKey:
    if isinstance(key, SigningKey):
        return key.public_key
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return key.public_key()
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return key
    raise TypeError(f"unsupported key type {type(key).__name__}")


def compute_kid(public_key: PublicKey | PrivateKey | SigningKey) -> str:
    """kube-apiserver's key ID: base64url(SHA-256(DER SubjectPublicKeyInfo)), always 43 chars."""
    der = _public_of(public_key).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b64url(hashlib.sha256(der).digest())


def alg_for(key: PublicKey | PrivateKey | SigningKey) -> str:
    """The JWS alg Kubernetes uses for a key: RS256 for any RSA key, ES* by curve."""
    public = _public_of(key)
    if isinstance(public, rsa.RSAPublicKey):
        return "RS256"
    try:
        return _CURVES[public.curve.name][1]
    except KeyError:
        raise ValueError(f"unsupported curve {public.curve.name}") from None


def _int_b64(value: int, size: int | None = None) -> str:
    length = size if size is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(length, "big"))


def public_jwk(key: PublicKey | PrivateKey | SigningKey) -> dict[str, str]:
    """The public JWK with kube-apiserver's member order (RSA: use kty kid alg n e; EC adds crv)."""
    public = _public_of(key)
    kid = compute_kid(public)
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {
            "use": "sig",
            "kty": "RSA",
            "kid": kid,
            "alg": "RS256",
            "n": _int_b64(numbers.n),
            "e": _int_b64(numbers.e),
        }
    crv, alg, size = _CURVES[public.curve.name]
    point = public.public_numbers()
    return {
        "use": "sig",
        "kty": "EC",
        "kid": kid,
        "crv": crv,
        "alg": alg,
        "x": _int_b64(point.x, size),
        "y": _int_b64(point.y, size),
    }


def load_public_pem(pem: bytes) -> PublicKey:
    """Read a PEM public key (SubjectPublicKeyInfo), as the Kubernetes test vectors ship them."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValueError(f"unsupported public key type {type(key).__name__}")
    return key


class SigningKey:
    """A private signing key of a fake cluster, with its kid and alg fixed at construction."""

    def __init__(self, private_key: PrivateKey) -> None:
        if not isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise TypeError(f"unsupported private key type {type(private_key).__name__}")
        self.private_key: PrivateKey = private_key
        self.public_key: PublicKey = private_key.public_key()
        self.kid: str = compute_kid(self.public_key)
        self.alg: str = alg_for(self.public_key)

    @classmethod
    def generate(cls, key_type: str = "rsa") -> SigningKey:
        """A fresh key: RSA-2048 (RS256) or EC P-256 (ES256), as kubeadm clusters use."""
        if key_type == "rsa":
            return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        if key_type == "ec":
            return cls(ec.generate_private_key(ec.SECP256R1()))
        raise ValueError(f"unknown key type {key_type!r}: expected one of {', '.join(KEY_TYPES)}")

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        """Load a PEM private key (PKCS#1, SEC1 or PKCS#8), as a --service-account-key-file."""
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError(f"unsupported private key type {type(key).__name__}")
        return cls(key)

    @property
    def key_type(self) -> str:
        return "rsa" if isinstance(self.private_key, rsa.RSAPrivateKey) else "ec"

    def private_pem(self) -> bytes:
        """PKCS#8 PEM, unencrypted: it only ever lands in a 0600 file of the state folder."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def public_jwk(self) -> dict[str, str]:
        return public_jwk(self.public_key)

    def __repr__(self) -> str:
        return f"SigningKey({self.alg}, kid={self.kid})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SigningKey) and other.kid == self.kid

    def __hash__(self) -> int:
        return hash(self.kid)


_INDEX = "index.json"


def save_keys(
    directory: str | os.PathLike[str], keys: Iterable[SigningKey], signing_kid: str
) -> None:
    """Write `<kid>.pem` files (0600) and `index.json` (order, signing kid); drop stale files."""
    folder = Path(directory)
    keys = list(keys)
    folder.mkdir(parents=True, exist_ok=True)
    for key in keys:
        write_private_file(folder / f"{key.kid}.pem", key.private_pem())
    index = {"keys": [k.kid for k in keys], "signing": signing_kid}
    write_private_file(folder / _INDEX, json.dumps(index, indent=2).encode() + b"\n")
    wanted = {f"{k.kid}.pem" for k in keys}
    for stale in folder.glob("*.pem"):
        if stale.name not in wanted:
            stale.unlink()


def load_keys(directory: str | os.PathLike[str]) -> tuple[list[SigningKey], str] | None:
    """Read what `save_keys` wrote: (keys in published order, signing kid), or None if absent."""
    folder = Path(directory)
    index_path = folder / _INDEX
    if not index_path.is_file():
        return None
    index = json.loads(index_path.read_text())
    keys = [SigningKey.from_pem((folder / f"{kid}.pem").read_bytes()) for kid in index["keys"]]
    for kid, key in zip(index["keys"], keys, strict=True):
        if key.kid != kid:
            raise ValueError(f"{folder / kid}.pem holds a key whose kid is {key.kid}")
    if index["signing"] not in index["keys"]:
        raise ValueError(f"{index_path}: signing kid {index['signing']} is not among the keys")
    return keys, index["signing"]
