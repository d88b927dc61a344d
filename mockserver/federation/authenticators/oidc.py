"""Kubernetes service-account tokens over OIDC: bearer + `ca.crt` → identity (§3.2).

The keys come from the provider each Authorization of the token's issuer names, whatever its
kind (§3.7): for an issuer bound to an OktaFederation or a PingIdentityFederation that is the
Okta or PingOne key set (`idp_keys.py`; the `ca.crt` is read but those providers ignore it), so
an Okta or PingOne token sent with a JSON body verifies here too, with OIDC's own checks (any
`Authorization` prefix, PS256 as well as RS256, `exp` optional) and method `oidc`.
"""

from __future__ import annotations

import functools
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from mockserver.federation.authenticators.base import (
    Credentials,
    Identity,
    KubeAttributes,
    Refusal,
    Setup,
)
from mockserver.federation.idp_keys import SourceError
from mockserver.federation.jwtparse import (
    JWTError,
    KeyFuncError,
    ParsedToken,
    parse_and_verify,
    rsa_key_from_jwk,
)
from mockserver.godecode import GoJSONError, string_fields
from mockserver.serving import DropConnection

RSA_JWK_ALGS = frozenset({"RS256", "RS384", "RS512"})
IDP_FEDERATION_KINDS = frozenset({"OktaFederation", "PingIdentityFederation"})
CA_CRT_TYPE = 'struct { CaCert string "json:\\"ca.crt\\"" }'
"""The anonymous struct the real server unmarshals the body into (its name in Go's errors)."""


REMEMBERED_BODY_BYTES = 8192


def read_ca_crt(body: bytes, strict: bool) -> str:
    """Decode the body as Go's `json.Unmarshal` into `{"ca.crt": string}` (keys fold case).

    Clients send the same small body on every request, so its decoding is remembered.
    """
    if strict and not body.strip(b" \t\r\n"):
        return ""
    if len(body) <= REMEMBERED_BODY_BYTES:
        return _remembered_ca_crt(body)
    return _decode_ca_crt(body)


def _decode_ca_crt(body: bytes) -> str:
    try:
        return string_fields(body, ("ca.crt",), CA_CRT_TYPE)["ca.crt"]
    except GoJSONError as exc:
        raise Refusal(str(exc)) from exc


_remembered_ca_crt = functools.lru_cache(maxsize=256)(_decode_ca_crt)


def bearer_token(header: str | None) -> str:
    """The OIDC authenticator strips `Bearer ` only if present; a bare JWT also works."""
    value = header or ""
    return value[len("Bearer ") :] if value.startswith("Bearer ") else value


class KubernetesOIDC:
    """Verifies a service-account token against its cluster's JWKS, fetched trusting `ca.crt`."""

    name = "oidc"

    def __init__(self, setup: Setup) -> None:
        self.resolver = setup.resolver
        self.behaviour = setup.behaviour
        self.clock = setup.clock
        self.extra_audiences = setup.extra_audiences
        self.issuer_keys = setup.issuer_keys

    def presented(self, creds: Credentials) -> bool:
        return True

    def _idp_keys(self, issuer: str, ca_crt: str) -> dict[str, Any] | None:
        """`store.GetJWKS` for an issuer bound to an Okta or PingIdentity federation (None for
        any other issuer): the first of its Authorizations' providers that answers. Under
        `first-request-401` the first request per new `ca.crt` fails here too (D9)."""
        keys = self.issuer_keys
        if keys is None or not any(
            s.federation_ref.kind in IDP_FEDERATION_KINDS for s in keys.specs(issuer)
        ):
            return None
        seen = self.resolver.seen_ca
        if self.behaviour.enabled("first-request-401") and ca_crt not in seen:
            seen.add(ca_crt)
            raise KeyFuncError("no jwks found", detail="first request for this ca.crt")
        try:
            return keys.jwks(issuer)
        except SourceError as exc:
            raise KeyFuncError(str(exc), detail=exc.detail) from exc

    def authenticate(self, creds: Credentials) -> Identity:
        token = bearer_token(creds.authorization)
        ca_crt = read_ca_crt(creds.body, self.behaviour.strict)

        def keyfunc(parsed: ParsedToken) -> rsa.RSAPublicKey:
            exp = parsed.claims.get("exp")
            kid = parsed.header.get("kid")
            keys = self._idp_keys(parsed.issuer, ca_crt)
            if keys is None:
                keys = self.resolver.keys_for(parsed.issuer, ca_crt, token, exp, kid)
            if not isinstance(kid, str):
                if self.behaviour.enabled("kidless-panic"):
                    raise DropConnection("token without a string kid (quirk kidless-panic)")
                raise KeyFuncError("token header has no string kid")
            jwk = keys.get(kid)
            if jwk is None:
                raise KeyFuncError("found right store, but kid not found in jwks")
            alg = jwk.get("alg", "")
            if alg not in RSA_JWK_ALGS:
                raise KeyFuncError(f"algorithm {alg} not supported")
            return rsa_key_from_jwk(jwk)

        try:
            parsed = parse_and_verify(token, keyfunc, self.clock.now(), self.behaviour.strict)
        except KeyFuncError as exc:
            raise Refusal(str(exc), detail=f"{exc}: {exc.detail}") from exc
        except JWTError as exc:
            raise Refusal(str(exc)) from exc
        if self.behaviour.strict:
            accepted = {parsed.issuer, *self.extra_audiences}
            if not accepted.intersection(parsed.audiences):
                raise Refusal("token has invalid claims: token has invalid audience")
        return Identity(
            method="oidc",
            provider=parsed.issuer,
            subject=parsed.subject,
            kube=KubeAttributes.from_claims(parsed.claims),
            token=parsed,
        )
