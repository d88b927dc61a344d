"""PingOne tokens (§3.4): the Okta steps with PingOne's claims and subject rule.

Client-credentials tokens carry `client_id` and no `sub`; the subject is then the client id,
and a token with neither fails with the real server's text.
"""

from __future__ import annotations

from mockserver.federation.authenticators.base import Refusal
from mockserver.federation.authenticators.okta import ClaimTypes, IssuerBearer
from mockserver.federation.jwtclaims import PING_CLAIMS as GO_PING_CLAIMS
from mockserver.federation.jwtparse import ParsedToken

PING_CLAIMS: ClaimTypes = (
    ("client_id", "string"),
    ("scope", "string"),
    ("scopes", "[]string"),
)


class PingIdentity(IssuerBearer):
    """`Info{Method: "pingidentity", Provider: iss, Subject: sub or client_id}`."""

    name = "pingidentity"
    struct = "PingIdentityClaims"
    claim_types = PING_CLAIMS
    claims_struct = GO_PING_CLAIMS
    federation_kind = "PingIdentityFederation"

    def subject_of(self, parsed: ParsedToken) -> str:
        if parsed.subject:
            return parsed.subject
        client_id = parsed.claims.get("client_id")
        if isinstance(client_id, str) and client_id:
            return client_id
        raise Refusal("token missing both subject and client_id claims")
