"""The registry of defects: each is one deliberate protocol bug and the requirements it breaks."""

from __future__ import annotations

from typing import NamedTuple


class Defect(NamedTuple):
    """What the bug is, and the requirement IDs a conformance run must report FAIL for it."""

    description: str
    requirements: tuple[str, ...]


DEFECTS: dict[str, Defect] = {
    # HTTP surface
    "revoke-self-unrouted": Defect(
        "DELETE on the generator route is not routed (405)", ("SRV-HTTP-001", "SRV-REVOKE-001")
    ),
    "no-allow-header": Defect("405 answers carry no Allow header", ("SRV-HTTP-002",)),
    "router-errors-as-strings": Defect(
        'router 404/405 bodies are JSON strings, not {"message": ...}',
        ("SRV-HTTP-002", "SRV-HTTP-003"),
    ),
    "routes-before-auth": Defect(
        "unknown paths and wrong methods are answered 404/405 before authentication",
        ("SRV-HTTP-004",),
    ),
    # framing
    "text-content-type": Defect(
        "every answer says Content-Type text/plain", ("SRV-OUT-001", "SRV-HTTP-004")
    ),
    "error-objects": Defect(
        'handler errors are {"message": ...} objects',
        ("SRV-OUT-002", "SRV-ERR-001", "SRV-ERR-002"),
    ),
    "no-trailing-newline": Defect(
        "bodies lack the trailing newline",
        ("SRV-OUT-003", "SRV-REVOKE-001", "SRV-REVOKE-002", "SRV-AUTHZ-001", "SRV-AUTHZ-002"),
    ),
    # authentication
    "rs256-refused": Defect("RS256 signatures are not accepted", ("SRV-AUTH-001",)),
    "skip-signature": Defect("the signature is never checked", ("SRV-AUTH-002", "SRV-AUTH-003")),
    "ignore-kid": Defect(
        "the kid is ignored: the first RSA key of the JWKS verifies every token",
        ("SRV-AUTH-003", "SRV-AUTH-008", "SRV-AUTH-021"),
    ),
    "accept-alg-none": Defect("unsigned alg-none tokens are accepted", ("SRV-AUTH-004",)),
    "accept-hs256-public-key": Defect(
        "HS256 tokens are verified with the RSA public key as HMAC secret", ("SRV-AUTH-005",)
    ),
    "ignore-exp": Defect("exp is not checked", ("SRV-AUTH-006",)),
    "exp-leeway": Defect(
        "a token expired by a few seconds is accepted (60 s of leeway)", ("SRV-AUTH-006",)
    ),
    "ignore-nbf": Defect("nbf is not checked", ("SRV-AUTH-007",)),
    "kidless-drop": Defect("a token without a string kid drops the connection", ("SRV-AUTH-008",)),
    "unknown-issuer-404": Defect(
        "a token of an unconfigured issuer is let through and denied with 404",
        ("SRV-AUTH-009",),
    ),
    "skip-discovery": Defect(
        "keys are fetched from a fixed /openid/v1/jwks path without discovery",
        ("SRV-AUTH-010",),
    ),
    "keys-forever": Defect(
        "keys are cached forever and not fetched again for an unknown kid",
        ("SRV-AUTH-010",),
    ),
    "ca-keyed-cache": Defect(
        "keys are cached by ca.crt alone, whatever the issuer (cross-issuer confusion)",
        ("SRV-AUTH-012",),
    ),
    "ca-raw-pem": Defect("a raw PEM ca.crt (not base64) is accepted", ("SRV-AUTH-015",)),
    "ca-der": Defect("a ca.crt of base64 DER is accepted", ("SRV-AUTH-016",)),
    "ca-any-block": Defect(
        "a ca.crt PEM block that is not a CERTIFICATE turns TLS verification off",
        ("SRV-AUTH-017",),
    ),
    "optional-body": Defect(
        "a body that is not a JSON object counts as no ca.crt, and TLS is then not verified",
        ("SRV-AUTH-018",),
    ),
    "malformed-body-500": Defect("a body that is not JSON is answered 500", ("SRV-AUTH-018",)),
    "accept-es256": Defect("ES256 tokens with an EC key are accepted", ("SRV-AUTH-020",)),
    "mtls-client-cert-optional": Defect(
        "the mTLS port lets clients without a certificate finish the handshake",
        ("SRV-MTLS-001",),
    ),
    "mtls-any-svid": Defect(
        "the mTLS port accepts any trusted SVID, listed or not", ("SRV-MTLS-002",)
    ),
    "mtls-spiffe-ignored": Defect(
        "the mTLS port ignores the client certificate as an identity", ("SRV-MTLS-003",)
    ),
    "spiffe-any-path": Defect("SPIFFE IDs of any path form are authenticated", ("SRV-MTLS-004",)),
    "plain-http-spiffe": Defect(
        "X-Forwarded-Client-Cert on the plain HTTP port authenticates a SPIFFE ID",
        ("SRV-MTLS-005",),
    ),
    # x-workload-token
    "wlt-ignored": Defect("x-workload-token is never parsed", ("SRV-WLT-001", "SRV-WLT-002")),
    "wlt-claims-unchecked": Defect(
        "an x-workload-token without the workload claims is ignored, not refused", ("SRV-WLT-002",)
    ),
    "wlt-trusted": Defect(
        "x-workload-token is trusted without verifying its signature",
        ("SRV-WLT-003", "SRV-WLT-004"),
    ),
    # authorization
    "store-case-insensitive": Defect(
        "store names are matched case-insensitively", ("SRV-AUTHZ-001",)
    ),
    "secret-in-denial": Defect("a denied R1 puts the value in the 404 body", ("SRV-AUTHZ-001",)),
    "ignore-subject": Defect(
        "any subject of a configured issuer gets that issuer's grants",
        ("SRV-AUTHZ-001", "SRV-AUTHZ-002"),
    ),
    "subject-prefix": Defect(
        "an Authorization's subject matches any subject it is a prefix of", ("SRV-AUTHZ-002",)
    ),
    "subject-case-insensitive": Defect(
        "subjects are matched case-insensitively", ("SRV-AUTHZ-002",)
    ),
    "kind-case-insensitive": Defect(
        "generator triples are matched case-insensitively", ("SRV-AUTHZ-003",)
    ),
    "api-version-compared": Defect(
        "the apiVersion of allowedGenerators entries must match", ("SRV-AUTHZ-004",)
    ),
    "no-union": Defect("only the newest Authorization of a subject counts", ("SRV-AUTHZ-005",)),
    "sticky-authorizations": Defect(
        "deleted or narrowed Authorizations keep granting", ("SRV-AUTHZ-006", "SRV-AUTHZ-007")
    ),
    # R1
    "raw-text-secret": Defect(
        "R1 answers the raw value as text/plain",
        ("SRV-STORE-001", "SRV-STORE-002", "SRV-STORE-003", "SRV-OUT-001"),
    ),
    "json-value-decoded": Defect(
        "a JSON-valued secret is sent as the JSON document itself", ("SRV-STORE-002",)
    ),
    "slash-truncates-key": Defect("the secret name ends at the first raw /", ("SRV-STORE-003",)),
    "missing-key-404": Defect("a missing key is 404 'Not Found'", ("SRV-ERR-001",)),
    # R2
    "r2-nested-values": Defect("R2 adds a nested metadata object to the answer", ("SRV-GEN-001",)),
    "r2-no-state": Defect("R2 writes no GeneratorState", ("SRV-GEN-002",)),
    "no-authorized-identity": Defect("no AuthorizedIdentity is recorded", ("SRV-GEN-003",)),
    "generator-error-500": Defect("an unavailable generator is answered 500", ("SRV-ERR-002",)),
    # R3, R4
    "r3-empty-object": Defect("R3 answers {} instead of null", ("SRV-REVOKE-001",)),
    "r4-other-text": Defect('R4 answers "GeneratorStates deleted"', ("SRV-REVOKE-002",)),
    "r3-ignores-generator": Defect(
        "R3 deletes every state of the caller in the namespace", ("SRV-REVOKE-003",)
    ),
    "r4-body-namespace": Defect(
        "R4 deletes in the body's namespace, in every namespace when it is empty",
        ("SRV-REVOKE-004", "SRV-REVOKE-005"),
    ),
    "r4-any-media-type": Defect("R4 binds the body whatever its Content-Type", ("SRV-REVOKE-006",)),
    "r4-deletes-nothing": Defect("R4 deletes nothing", ("SRV-REVOKE-007",)),
}
