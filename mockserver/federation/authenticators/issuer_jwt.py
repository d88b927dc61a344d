"""Okta and PingIdentity as the mock knows them so far: their refusals, in the real order.

They are only tried under the quirk `random-authenticator`; no issuer is configured for them,
so every token ends at the JWKS step with the real server's text.
"""

from __future__ import annotations

from mockserver.federation.authenticators.base import Credentials, Identity, Refusal, Setup
from mockserver.federation.jwtclaims import OKTA_CLAIMS, PING_CLAIMS, ClaimsType
from mockserver.federation.jwtparse import JWTError, parse_unverified


class IssuerJWT:
    """A `Bearer` JWT checked against an issuer's configuration (Okta, PingIdentity)."""

    def __init__(self, name: str, setup: Setup, claims_type: ClaimsType) -> None:
        self.name = name
        self.resolver = setup.resolver
        self.claims_type = claims_type

    def presented(self, creds: Credentials) -> bool:
        return False

    def authenticate(self, creds: Credentials) -> Identity:
        header = creds.authorization
        if header is None or header == "":
            raise Refusal("missing Authorization header")
        if not header.startswith("Bearer "):
            raise Refusal("invalid Authorization header format, expected 'Bearer <token>'")
        token = header[len("Bearer ") :]
        if not token:
            raise Refusal("empty token in Authorization header")
        try:
            parsed = parse_unverified(token, self.claims_type)
        except JWTError as exc:
            raise Refusal(f"failed to parse token: {exc}") from exc
        if not parsed.issuer:
            raise Refusal("token missing issuer claim")
        if not self.resolver.issuer_configured(parsed.issuer):
            raise Refusal(f"no authorization configured for issuer: {parsed.issuer}")
        raise Refusal("failed to get JWKS: no jwks found")


def okta(setup: Setup) -> IssuerJWT:
    return IssuerJWT("okta", setup, OKTA_CLAIMS)


def pingidentity(setup: Setup) -> IssuerJWT:
    return IssuerJWT("pingidentity", setup, PING_CLAIMS)
