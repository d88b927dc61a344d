"""Access tokens shaped like Okta's and PingOne's, and the deliberately broken variants.

Okta: `ver`, `jti`, `iss`, `aud`, `iat`, `exp`, `cid`, `uid` (user tokens), `scp`, `sub` (the
user, or the client id for client-credentials tokens). PingOne: `client_id`, `iss`, `jti`,
`iat`, `exp`, `aud`, `scope` (a string), `sub` only for user tokens, `env`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mockserver.keys import SigningKey, b64url, go_json
from mockserver.tokens import foreign_key, sign

from .servers import AuthorizationServer

DEFAULT_DURATION = 3600
BROKEN_KINDS: dict[str, str] = {
    "expired": "exp is an hour in the past",
    "expired-now": "exp is the current second (zero leeway: already expired)",
    "no-exp": "has no exp claim",
    "not-yet-valid": "nbf is an hour in the future",
    "unknown-kid": "its kid names no key in the JWKS",
    "no-kid": "has no kid header",
    "non-string-kid": "its kid header is a number, not a string",
    "foreign-key": "carries a published kid but is signed by another key",
    "ps256": "is signed PS256 (the Okta and PingIdentity paths take RS256/384/512 only)",
    "alg-none": "is unsigned (alg none)",
    "no-subject": "has neither sub nor client_id",
    "no-issuer": "has no iss claim",
    "tampered-payload": "its payload was changed after signing",
    # signed by the issuer's own key, but iss is a near miss of it (the store key is exact)
    "issuer-prefix": "its iss is the issuer minus its last character",
    "issuer-extension": "its iss is the issuer with one more character",
    "issuer-suffix": "its iss is the issuer without its https:// scheme",
    "issuer-case": "its iss is the issuer in upper case",
    "issuer-space": "its iss is the issuer with a trailing space",
    "issuer-compat": "its iss spells an `a` as U+00AA, which NFKC folds to `a`",
    "issuer-encoded": "its iss spells its first `-` as %2D",
}
"""Deliberately broken IdP token kinds, each with the reason the server must refuse it."""


ISSUER_NEAR_MISSES: dict[str, Callable[[str], str]] = {
    "issuer-prefix": lambda iss: iss[:-1],
    "issuer-extension": lambda iss: iss + "x",
    "issuer-suffix": lambda iss: iss.removeprefix("https://"),
    "issuer-case": str.upper,
    "issuer-space": lambda iss: iss + " ",
    "issuer-compat": lambda iss: iss.replace("a", "\u00aa", 1),
    "issuer-encoded": lambda iss: iss.replace("-", "%2D", 1),
}


@dataclass(frozen=True)
class TokenRequest:
    """What to mint: a user token (`subject`) or a client-credentials one (`client_id` only)."""

    subject: str | None = None
    client_id: str | None = None
    scopes: Sequence[str] = ()
    audience: str | None = None
    duration: int = DEFAULT_DURATION
    alg: str = "RS256"


def _jti(prefix: str, seed: str) -> str:
    return prefix + b64url(hashlib.sha256(seed.encode()).digest()[:18])


def okta_claims(server: AuthorizationServer, req: TokenRequest, now: int) -> dict[str, Any]:
    client_id = req.client_id or "0oa-esi-mock-client"
    claims: dict[str, Any] = {
        "ver": 1,
        "jti": _jti("AT.", f"{uuid.uuid4()}"),
        "iss": server.issuer,
        "aud": req.audience or server.audience,
        "iat": now,
        "exp": now + req.duration,
        "cid": client_id,
    }
    if req.subject is not None:
        claims["uid"] = "00u" + hashlib.sha256(req.subject.encode()).hexdigest()[:17]
    claims["scp"] = list(req.scopes) or ["federation"]
    claims["sub"] = req.subject if req.subject is not None else client_id
    return claims


def ping_claims(server: AuthorizationServer, req: TokenRequest, now: int) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "client_id": req.client_id or "esi-mock-client",
        "iss": server.issuer,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + req.duration,
        "aud": [req.audience or server.audience],
        "scope": " ".join(req.scopes) or "federation",
        "env": server.id,
    }
    if req.subject is not None:
        claims["sub"] = req.subject
    return claims


def encode(header: dict[str, Any], claims: dict[str, Any], key: SigningKey | None) -> str:
    """Compact JWS with the members in the order given (as the IdPs write them)."""
    signing_input = f"{b64url(go_json(header))}.{b64url(go_json(claims))}".encode()
    signature = b"" if key is None else _sign(header["alg"], key, signing_input)
    return signing_input.decode() + "." + b64url(signature)


def _sign(alg: str, key: SigningKey, signing_input: bytes) -> bytes:
    if alg.startswith("PS"):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        digests: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
            "256": hashes.SHA256,
            "384": hashes.SHA384,
            "512": hashes.SHA512,
        }
        digest = digests[alg[2:]]()
        assert isinstance(key.private_key, rsa.RSAPrivateKey)
        return key.private_key.sign(
            signing_input, padding.PSS(padding.MGF1(digest), padding.PSS.DIGEST_LENGTH), digest
        )
    return sign(alg, key, signing_input)


def mint(
    kind: str, server: AuthorizationServer, req: TokenRequest, now: float, broken: str | None = None
) -> str:
    """A token of `server` (kind "okta" or "pingidentity"), optionally one of BROKEN_KINDS."""
    if broken is not None and broken not in BROKEN_KINDS:
        raise ValueError(
            f"unknown broken token kind {broken!r}: expected one of {list(BROKEN_KINDS)}"
        )
    if req.subject is None and req.client_id is None:
        raise ValueError("a token needs a subject (user token) or a client id (client credentials)")
    if req.duration < 1:
        raise ValueError(f"duration must be at least 1 second, got {req.duration}")
    at = int(now)
    if broken == "expired":
        at -= 7200
    claims = (okta_claims if kind == "okta" else ping_claims)(server, req, at)
    if broken == "expired-now":
        claims["exp"] = int(now)
    elif broken == "no-exp":
        del claims["exp"]
    elif broken == "not-yet-valid":
        claims["nbf"] = int(now) + 3600
    elif broken == "no-subject":
        claims.pop("sub", None)
        claims.pop("client_id", None)
    elif broken == "no-issuer":
        del claims["iss"]
    elif broken is not None and broken in ISSUER_NEAR_MISSES:
        claims["iss"] = ISSUER_NEAR_MISSES[broken](claims["iss"])
    key: SigningKey | None = server.keys.signing_key
    assert key is not None
    header: dict[str, Any] = {"kid": key.kid, "alg": req.alg}
    if broken == "unknown-kid":
        header["kid"] = foreign_key("rsa").kid
        key = foreign_key("rsa")
    elif broken == "no-kid":
        del header["kid"]
    elif broken == "non-string-kid":
        header["kid"] = 12345
    elif broken == "foreign-key":
        key = foreign_key("rsa")
    elif broken == "ps256":
        header["alg"] = "PS256"
    elif broken == "alg-none":
        header["alg"], key = "none", None
    token = encode(header, claims, key)
    if broken == "tampered-payload":
        head, _, signature = token.split(".")
        claims["exp"] = claims["exp"] + 365 * 86400
        token = f"{head}.{b64url(go_json(claims))}.{signature}"
    return token
