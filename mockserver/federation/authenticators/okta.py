"""Okta machine tokens (§3.3): `Bearer` JWT → issuer's Authorizations → their provider's JWKS.

The steps and texts are the real `OktaAuthenticator`'s, in its order: the `Bearer ` prefix is
required (unlike OIDC), RS256/384/512 only, a string `kid` present in the key set, `exp`
required with zero leeway (the "2-minute leeway" check runs after the library already refused
an expired token), then `sub`. `aud`, `cid`, `scp` and `iat` are not checked. PingIdentity
(`pingidentity.py`) differs only in its claims, the subject rule and the method.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import rsa

from mockserver.federation.authenticators.base import Credentials, Identity, Refusal, Setup
from mockserver.federation.idp_keys import JWK, IssuerKeys, SourceError
from mockserver.federation.jwtclaims import OKTA_CLAIMS as GO_OKTA_CLAIMS
from mockserver.federation.jwtclaims import ClaimsType
from mockserver.federation.jwtparse import (
    JWTError,
    KeyFuncError,
    ParsedToken,
    _decode_segment,
    _rsa_key,
    parse_unverified,
    validate_time_claims,
    verify_signature,
)
from mockserver.godecode import kind_of

RSA_ALGS = frozenset({"RS256", "RS384", "RS512"})
BEARER = "Bearer "

ClaimTypes = tuple[tuple[str, str], ...]
"""(claim, Go type) of the vendor claims struct, beyond jwt.RegisteredClaims."""
OKTA_CLAIMS: ClaimTypes = (
    ("ver", "int"),
    ("cid", "string"),
    ("uid", "string"),
    ("scp", "[]string"),
    ("token_type", "string"),
)


def check_struct_claims(parsed: ParsedToken, struct: str, types: ClaimTypes) -> None:
    """json.Unmarshal into the vendor struct: the first member of the wrong type fails."""
    wanted = dict(types)
    for name, value in parsed.claims.items():
        go_type = wanted.get(name)
        if go_type is None or value is None:
            continue
        problem = _type_problem(value, go_type)
        if problem is not None:
            got, into = problem
            raise JWTError(
                "token is malformed: could not JSON decode claim: json: cannot unmarshal "
                f"{got} into Go struct field {struct}.{name} of type {into}"
            )


def _type_problem(value: object, go_type: str) -> tuple[str, str] | None:
    if go_type == "string":
        return None if isinstance(value, str) else (kind_of(value), "string")
    if go_type == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return None
        if isinstance(value, float):
            return (f"number {value:g}", "int")
        return (kind_of(value), "int")
    if not isinstance(value, list):
        return (kind_of(value), "[]string")
    bad = next((v for v in value if v is not None and not isinstance(v, str)), None)
    return None if bad is None else (kind_of(bad), "string")


def rsa_key_from_string_jwk(jwk: JWK) -> rsa.RSAPublicKey:
    """`parseRSAPublicKeyFromJWK`: `n`, `e` (raw base64url), then `kty == "RSA"`; `alg` ignored."""
    problem = _jwk_problem(jwk.get("n"), jwk.get("e"), jwk.get("kty"))
    if problem:
        raise KeyFuncError(problem)
    return _rsa_key(jwk["n"], jwk["e"])  # built once per key


@functools.lru_cache(maxsize=256)
def _jwk_problem(n: str | None, e: str | None, kty: str | None) -> str:
    """Why the JWK is unusable, in the real order and texts ("" when it is usable)."""
    for value, member, what in ((n, "n", "modulus"), (e, "e", "exponent")):
        if value is None:
            return f"JWK missing '{member}' ({what})"
        try:
            _decode_segment(value)
        except ValueError as exc:
            return f"failed to decode {what}: {exc}"
    if kty != "RSA":
        return f"unsupported key type: {kty or ''}"
    return ""


class IssuerBearer:
    """The shared steps of the Okta and PingIdentity authenticators."""

    name = "okta"
    struct = "OktaClaims"
    claim_types: ClaimTypes = OKTA_CLAIMS
    # The Go struct the claims decode into: members it lacks are dropped, as encoding/json does.
    claims_struct: ClaimsType = GO_OKTA_CLAIMS

    def __init__(self, setup: Setup) -> None:
        self.clock = setup.clock
        keys = setup.issuer_keys
        self.keys: IssuerKeys | None = keys

    federation_kind = "OktaFederation"

    def presented(self, creds: Credentials) -> bool:
        return self.prefers(creds)

    def prefers(self, creds: Credentials) -> bool:
        """A token (with or without `Bearer `) whose issuer an Authorization binds to this
        vendor's Federation kind: the default order runs this authenticator first for it."""
        header = creds.authorization or ""
        token = header[len(BEARER) :] if header.startswith(BEARER) else header
        if not token or self.keys is None:
            return False
        try:
            parsed = parse_unverified(token, self.claims_struct)
        except JWTError:
            return False
        wanted = self.federation_kind
        return any(s.federation_ref.kind == wanted for s in self.keys.specs(parsed.issuer))

    def authenticate(self, creds: Credentials) -> Identity:
        header = creds.authorization
        if not header:
            raise Refusal("missing Authorization header")
        if not header.startswith(BEARER):
            raise Refusal("invalid Authorization header format, expected 'Bearer <token>'")
        token = header[len(BEARER) :]
        if not token:
            raise Refusal("empty token in Authorization header")
        try:
            parsed = parse_unverified(token, self.claims_struct)
            check_struct_claims(parsed, self.struct, self.claim_types)
        except JWTError as exc:
            raise Refusal(f"failed to parse token: {exc}") from exc
        issuer = parsed.issuer
        if not issuer:
            raise Refusal("token missing issuer claim")
        if self.keys is None or not self.keys.specs(issuer):
            raise Refusal(f"no authorization configured for issuer: {issuer}")
        try:
            jwks = self.keys.jwks(issuer)
        except SourceError as exc:
            raise Refusal(f"failed to get JWKS: {exc}", detail=f"{exc}: {exc.detail}") from exc
        try:
            verify_signature(parsed, self._keyfunc(jwks)(parsed))
            validate_time_claims(parsed, self.clock.now())
        except JWTError as exc:
            raise Refusal(f"token validation failed: {exc}") from exc
        if "exp" not in parsed.claims or parsed.claims["exp"] is None:
            raise Refusal("token missing expiration claim")
        return Identity(
            method=self.name,
            provider=issuer,
            subject=self.subject_of(parsed),
            kube=None,
            token=parsed,
        )

    def subject_of(self, parsed: ParsedToken) -> str:
        if not parsed.subject:
            raise Refusal("token missing subject claim")
        return parsed.subject

    @staticmethod
    def _keyfunc(jwks: dict[str, JWK]) -> Callable[[ParsedToken], rsa.RSAPublicKey]:
        def keyfunc(parsed: ParsedToken) -> rsa.RSAPublicKey:
            if parsed.alg not in RSA_ALGS:
                raise KeyFuncError(f"unexpected signing method: {parsed.alg}")
            kid = parsed.header.get("kid")
            if not isinstance(kid, str):
                raise KeyFuncError("token missing 'kid' in header")
            jwk = jwks.get(kid)
            if jwk is None:
                raise KeyFuncError(f"key with kid '{kid}' not found in JWKS")
            return rsa_key_from_string_jwk(jwk)

        return keyfunc


class Okta(IssuerBearer):
    """`Info{Method: "okta", Provider: iss, Subject: sub}`, no workload attributes."""
