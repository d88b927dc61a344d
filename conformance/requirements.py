"""The requirements registry: every conformance requirement as data, with a stable ID.

IDs are `SRV-<AREA>-<NNN>` (server) or `CLI-<AREA>-<NNN>` (client) and never change meaning; a
retired requirement keeps its ID. Client requirements live in a separate module that calls
`register()`; `all_requirements()` imports it when it exists, so every reader sees one registry.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

LEVELS = ("MUST", "MUST-SEC", "SHOULD")
# Known areas in document order; another area is allowed and sorts after these.
AREAS = ("HTTP", "OUT", "AUTH", "TLS", "MTLS", "WLT", "AUTHZ", "STORE", "GEN", "REVOKE", "ERR")
NEEDS = ("state-hooks", "mtls", "faults", "okta", "pingone")
PROFILES = ("smoke", "core", "full")
ID_PATTERN = re.compile(r"^(SRV|CLI)-([A-Z]+)-(\d{3})$")

# Modules that add requirements to this registry when imported (missing ones are ignored).
EXTENSION_MODULES = ("conformance.client_requirements", "conformance.idp_requirements")


@dataclass(frozen=True)
class Requirement:
    """One checkable statement about a server or a client, traced to a reference item."""

    id: str
    level: str
    area: str
    text: str
    reference: str
    needs: tuple[str, ...] = ()
    smoke: bool = False

    @property
    def direction(self) -> str:
        """`server` for SRV-… IDs, `client` for CLI-… IDs."""
        return "server" if self.id.startswith("SRV-") else "client"


REQUIREMENTS: dict[str, Requirement] = {}

# Reference items deliberately not covered yet, with the reason (rendered in the document).
NOT_COVERED: dict[str, str] = {}


def register(*requirements: Requirement) -> None:
    """Add requirements, refusing malformed or duplicate IDs so the registry stays consistent."""
    for req in requirements:
        match = ID_PATTERN.match(req.id)
        if match is None:
            raise ValueError(f"{req.id}: ID must look like SRV-<AREA>-<NNN> or CLI-<AREA>-<NNN>")
        if match.group(2) != req.area:
            raise ValueError(f"{req.id}: area {req.area!r} does not match the ID")
        if req.level not in LEVELS:
            raise ValueError(f"{req.id}: unknown level {req.level!r}")
        unknown = [n for n in req.needs if n not in NEEDS]
        if unknown:
            raise ValueError(f"{req.id}: unknown needs {unknown}")
        if not req.text.strip() or not req.reference.strip():
            raise ValueError(f"{req.id}: text and reference are required")
        if req.id in REQUIREMENTS and REQUIREMENTS[req.id] != req:
            raise ValueError(f"{req.id}: registered twice with different content")
        REQUIREMENTS[req.id] = req


def all_requirements() -> dict[str, Requirement]:
    """The full registry, including requirements from extension modules, in ID order."""
    for name in EXTENSION_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return dict(sorted(REQUIREMENTS.items(), key=lambda item: _sort_key(item[0])))


def _sort_key(req_id: str) -> tuple[int, int, str, int]:
    direction, area, number = req_id.split("-")
    area_rank = AREAS.index(area) if area in AREAS else len(AREAS)
    return (0 if direction == "SRV" else 1, area_rank, area, int(number))


def select(
    level: str | None = None,
    profile: str = "full",
    direction: str | None = "server",
    ids: Iterable[str] | None = None,
) -> list[Requirement]:
    """Requirements a run covers.

    `level`: `must` (MUST and MUST-SEC), `should` or None (everything), or one exact level name
    (`MUST`, `MUST-SEC`, `SHOULD`). `profile`: `smoke` (one MUST per route plus 401 and 404),
    `core` (all MUST and MUST-SEC), `full` (everything). `direction`: `server`, `client` or None.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    levels = _levels(level)
    wanted = set(ids) if ids is not None else None
    if wanted is not None:
        unknown = sorted(wanted - set(all_requirements()))
        if unknown:
            raise ValueError(f"unknown requirement IDs: {', '.join(unknown)}")
    chosen = []
    for req in all_requirements().values():
        if direction is not None and req.direction != direction:
            continue
        if req.level not in levels:
            continue
        if profile == "smoke" and not req.smoke:
            continue
        if profile == "core" and req.level == "SHOULD":
            continue
        if wanted is not None and req.id not in wanted:
            continue
        chosen.append(req)
    return chosen


def _levels(level: str | None) -> frozenset[str]:
    if level is None or level.lower() == "should":
        return frozenset(LEVELS)
    if level.lower() == "must":
        return frozenset({"MUST", "MUST-SEC"})
    if level.upper() in LEVELS:
        return frozenset({level.upper()})
    raise ValueError(f"unknown level {level!r}; choose must, should, MUST, MUST-SEC or SHOULD")


def _r(
    id: str, level: str, text: str, reference: str, needs: tuple[str, ...] = (), smoke: bool = False
) -> Requirement:
    return Requirement(
        id=id,
        level=level,
        area=id.split("-")[1],
        text=text,
        reference=reference,
        needs=needs,
        smoke=smoke,
    )


HOOKS = ("state-hooks",)

register(
    # HTTP surface: routes, methods, unauthenticated requests.
    _r(
        "SRV-HTTP-001",
        "MUST",
        "Each of the four routes answers its own method (POST store read, POST generate, DELETE "
        "revoke-self, POST revoke) for an authenticated caller, never with a router 404 or 405.",
        "S1",
    ),
    _r(
        "SRV-HTTP-002",
        "MUST",
        "An authenticated request with a wrong method on a known path gets 405 with a JSON object "
        "body and an Allow header listing exactly the route's methods (plus OPTIONS).",
        "S1",
    ),
    _r(
        "SRV-HTTP-003",
        "MUST",
        "An authenticated request to an unknown path gets 404 with the JSON object "
        '{"message":"Not Found"}.',
        "S1",
    ),
    _r(
        "SRV-HTTP-004",
        "MUST",
        "An unauthenticated request to any path, known or unknown, with any method, gets 401 with "
        "Content-Type application/json and a JSON string body.",
        "S2",
        smoke=True,
    ),
    _r(
        "SRV-HTTP-005",
        "SHOULD",
        "A request body larger than 1 MiB is refused with 413 before it is read whole.",
        "S9",
    ),
    # Output framing.
    _r(
        "SRV-OUT-001",
        "MUST",
        "Every handler response, success or error, has Content-Type application/json.",
        "S3",
    ),
    _r(
        "SRV-OUT-002",
        "MUST",
        "Every handler error body is a JSON string (not an object), whatever its wording.",
        "S3",
    ),
    _r(
        "SRV-OUT-003",
        "MUST",
        "Every response body ends with exactly one newline after the JSON value.",
        "S3",
    ),
    # Authentication with Kubernetes service-account tokens (OIDC path).
    _r(
        "SRV-AUTH-001",
        "MUST",
        "A correctly RS256-signed token of a configured issuer, with a known kid and a future exp, "
        'sent with {"ca.crt": base64(PEM CA)}, is accepted (200; one retry after a 401 tolerated).',
        "S10",
    ),
    _r(
        "SRV-AUTH-002",
        "MUST",
        "A token whose payload was altered after signing (bad signature) gets 401.",
        "S11",
    ),
    _r(
        "SRV-AUTH-003",
        "MUST",
        "A token signed by a key the issuer does not publish (foreign key or unknown kid) gets 401.",
        "S11",
    ),
    _r("SRV-AUTH-004", "MUST", 'A token with alg "none" gets 401.', "S11"),
    _r(
        "SRV-AUTH-005",
        "MUST",
        "An HS256 token whose HMAC secret is the issuer's public key (algorithm confusion) gets "
        "401.",
        "S11",
    ),
    _r("SRV-AUTH-006", "MUST", "A token whose exp has passed gets 401.", "S11"),
    _r("SRV-AUTH-007", "MUST", "A token whose nbf lies in the future gets 401.", "S11"),
    _r(
        "SRV-AUTH-008",
        "MUST-SEC",
        "A token of a configured issuer without a kid, or with a non-string kid, gets a 401 "
        "response; the connection is never dropped without one.",
        "S12",
    ),
    _r(
        "SRV-AUTH-009",
        "MUST",
        "A token whose issuer no Authorization names gets 401, not 404.",
        "S13",
    ),
    _r(
        "SRV-AUTH-010",
        "MUST",
        "Keys of a Kubernetes-provider issuer are fetched from "
        "{url}/.well-known/openid-configuration and then from {url} plus the path of jwks_uri, "
        "over TLS trusting the supplied ca.crt.",
        "S14",
    ),
    _r(
        "SRV-AUTH-011",
        "SHOULD",
        "The caller's bearer token is not forwarded upstream to the issuer's discovery or JWKS "
        "endpoints.",
        "S14",
    ),
    _r(
        "SRV-AUTH-012",
        "MUST-SEC",
        "A token signed with issuer A's key but claiming issuer B is rejected with 401, even right "
        "after A's keys were used with the same ca.crt (no cross-issuer key confusion).",
        "S15",
    ),
    _r(
        "SRV-AUTH-020",
        "MUST",
        "A token signed with an algorithm other than RS256/384/512 or PS256/384/512 (e.g. ES256 "
        "with an EC key) gets 401.",
        "S11",
    ),
    _r(
        "SRV-AUTH-021",
        "MUST-SEC",
        "The token's kid names the key that verifies it: a token signed by one key of the "
        "issuer's JWKS whose kid names another key of that JWKS (another RSA key, or a key that "
        "is not RSA) gets 401.",
        "S11",
    ),
    _r(
        "SRV-AUTH-022",
        "SHOULD",
        "Only the first PEM block of ca.crt is a trust anchor, as Go's pem.Decode reads it: a "
        "ca.crt whose first certificate is another CA gets 401 even when the issuer's CA follows.",
        "S14",
    ),
    _r(
        "SRV-AUTH-013",
        "SHOULD",
        "A token whose audience is not the configured audience gets 401.",
        "S16",
    ),
    _r(
        "SRV-AUTH-014",
        "SHOULD",
        "A token without exp gets 401 on the Kubernetes (OIDC) path.",
        "S16",
        needs=HOOKS,
    ),
    _r(
        "SRV-AUTH-015",
        "MUST",
        "A ca.crt that is not standard base64 (raw PEM, garbage) gets 401.",
        "S18",
    ),
    _r(
        "SRV-AUTH-016",
        "MUST",
        "A ca.crt that is base64 but not of a PEM document (base64 of DER) gets 401.",
        "S18",
    ),
    _r(
        "SRV-AUTH-017",
        "MUST",
        "A ca.crt holding a PEM block that is not a CERTIFICATE gets 401.",
        "S18",
    ),
    _r(
        "SRV-AUTH-018",
        "MUST",
        "A Kubernetes token with a body that is not JSON, or is a JSON array, gets 401.",
        "S19",
    ),
    _r(
        "SRV-AUTH-019",
        "SHOULD",
        "An empty request body is treated like the body {} (no ca.crt): both get the same status.",
        "S19",
    ),
    # Trust anchors.
    _r(
        "SRV-TLS-001",
        "SHOULD",
        "The trust anchor for an issuer's keys is server-side: a valid token sent without ca.crt "
        "is still verified and accepted.",
        "S17",
    ),
    # SPIFFE over mTLS.
    _r(
        "SRV-MTLS-001",
        "MUST",
        "The mTLS port refuses the handshake of a client without a certificate, or with one that "
        "does not chain to the trust bundle (no HTTP response).",
        "S26",
        needs=("mtls",),
    ),
    _r(
        "SRV-MTLS-002",
        "MUST",
        "The mTLS port refuses the handshake of an SVID whose ID no SPIFFE Authorization names.",
        "S26",
        needs=("mtls",),
    ),
    _r(
        "SRV-MTLS-003",
        "MUST",
        "An allowed SVID of the form /<app>/ns/<ns>/sa/<saUID>/<saName>/pod/<podUID>/<podName> is "
        "authenticated and served (200 for an authorized store).",
        "S26, §3.5",
        needs=("mtls",),
    ),
    _r(
        "SRV-MTLS-004",
        "MUST",
        "An allowed SVID whose path does not have that form gets 401.",
        "S27",
        needs=("mtls", *HOOKS),
    ),
    _r(
        "SRV-MTLS-005",
        "MUST",
        "On the plain HTTP port SPIFFE authentication never succeeds, whatever client-certificate "
        "headers the request carries: 401.",
        "S28",
    ),
    # x-workload-token.
    _r(
        "SRV-WLT-001",
        "MUST",
        "A malformed x-workload-token (not three segments, bad base64 or JSON, no alg) from an "
        "authenticated caller gets 400 with a JSON string starting 'invalid x-workload-token:', on "
        "every route.",
        "S29",
    ),
    _r(
        "SRV-WLT-002",
        "MUST",
        "An x-workload-token missing kubernetes.io.namespace, serviceaccount.name or "
        "serviceaccount.uid gets 400 with a JSON string starting 'invalid x-workload-token:'.",
        "S30",
    ),
    _r(
        "SRV-WLT-003",
        "MUST-SEC",
        "An x-workload-token not signed by a trusted issuer does not change the owner R2 records: "
        "no GeneratorState is created for the named workload.",
        "S31",
        needs=HOOKS,
    ),
    _r(
        "SRV-WLT-004",
        "MUST-SEC",
        "An x-workload-token not signed by a trusted issuer does not let R3 delete another "
        "workload's GeneratorStates.",
        "S31",
        needs=HOOKS,
    ),
    # Authorization.
    _r(
        "SRV-AUTHZ-001",
        "MUST",
        'R1 for a store the caller\'s Authorization does not list gets 404 with body "Not Found" '
        "plus a newline, byte for byte.",
        "S32",
        smoke=True,
    ),
    _r(
        "SRV-AUTHZ-002",
        "MUST",
        'R1 by a subject of the same issuer that no Authorization names gets 404 "Not Found".',
        "S32",
    ),
    _r(
        "SRV-AUTHZ-003",
        "MUST",
        "R2 and R3 match the generator's name, kind and namespace exactly and case-sensitively: "
        'any difference gets 404 "Not Found".',
        "S33",
    ),
    _r(
        "SRV-AUTHZ-004",
        "MUST",
        "The apiVersion of an allowedGenerators entry is ignored when matching.",
        "S33",
        needs=HOOKS,
    ),
    _r(
        "SRV-AUTHZ-005",
        "MUST",
        "Two Authorizations with the same issuer and subject grant the union of their lists.",
        "S34",
    ),
    _r(
        "SRV-AUTHZ-006",
        "MUST-SEC",
        "After an Authorization is deleted, requests that relied on it get 404.",
        "S35",
        needs=HOOKS,
    ),
    _r(
        "SRV-AUTHZ-007",
        "MUST-SEC",
        "After an entry is removed from an Authorization's list, requests that relied on it get "
        "404.",
        "S35",
        needs=HOOKS,
    ),
    # Store reads.
    _r(
        "SRV-STORE-001",
        "MUST",
        "R1 returns 200 with a JSON string equal to the stored value; quotes, <, >, & and "
        "non-ASCII characters round-trip.",
        "S4",
        smoke=True,
    ),
    _r(
        "SRV-STORE-002",
        "MUST",
        "A stored value that is itself a JSON document comes back as a JSON string holding that "
        "text, not as a JSON object.",
        "S4, §2.5",
    ),
    _r(
        "SRV-STORE-003",
        "MUST",
        "An unencoded / inside the secret name reaches the backend as part of the key "
        "(a/b reads key a/b).",
        "§2.1, C10",
    ),
    _r(
        "SRV-STORE-004",
        "SHOULD",
        "A %2F in the secret name is rejected or decoded to /, never passed to the backend as the "
        "literal text %2F.",
        "S8",
        needs=HOOKS,
    ),
    # Generators.
    _r(
        "SRV-GEN-001",
        "MUST",
        "R2 returns 200 with a JSON object whose values are all strings.",
        "S5",
        smoke=True,
    ),
    _r(
        "SRV-GEN-002",
        "MUST",
        "A successful R2 creates exactly one GeneratorState in the URL namespace with the owner, "
        "generator and generator-kind labels and the owner-attributes annotation.",
        "S39",
        needs=HOOKS,
    ),
    _r(
        "SRV-GEN-003",
        "MUST",
        "A successful R1 or R2 creates or updates the AuthorizedIdentity <method>-<sanitised "
        "subject> with an issued-credential entry for the store or generator.",
        "S41",
        needs=HOOKS,
    ),
    _r(
        "SRV-GEN-004",
        "SHOULD",
        "An R2 that answers non-200 leaves no live credential behind.",
        "S42",
        needs=(*HOOKS, "faults"),
    ),
    # Revocation.
    _r(
        "SRV-REVOKE-001",
        "MUST",
        "R3 returns 200 with body null plus a newline, byte for byte, even when nothing matched.",
        "S6",
        smoke=True,
    ),
    _r(
        "SRV-REVOKE-002",
        "MUST",
        'R4 returns 200 with body "GeneratorState deleted" plus a newline, byte for byte, even '
        "when nothing matched.",
        "S6",
        smoke=True,
    ),
    _r(
        "SRV-REVOKE-003",
        "MUST",
        "A successful R3 deletes exactly the GeneratorStates in the URL namespace whose owner, "
        "generator and generator-kind labels match the caller and the generator, and no others.",
        "S40",
        needs=HOOKS,
    ),
    _r(
        "SRV-REVOKE-004",
        "MUST-SEC",
        "R4 with a body namespace different from the URL namespace is refused with 400 or 404.",
        "S36",
    ),
    _r(
        "SRV-REVOKE-005",
        "MUST-SEC",
        "R4 never deletes outside the URL namespace; an empty or missing body namespace never means "
        "all namespaces.",
        "S36",
        needs=HOOKS,
    ),
    _r(
        "SRV-REVOKE-006",
        "MUST",
        "R4 with a non-empty body whose Content-Type is not JSON, XML, form or multipart gets 400 "
        "with a JSON string containing 415.",
        "S38",
    ),
    _r(
        "SRV-REVOKE-007",
        "MUST",
        "R4 deletes the GeneratorStates labelled with the body's owner in the URL namespace.",
        "S36, §2.5",
        needs=HOOKS,
    ),
    # Failure answers.
    _r(
        "SRV-ERR-001",
        "MUST",
        "R1 for a key the store does not hold gets 400 with a JSON string (not 404, not 200).",
        "§2.5, §2.6",
    ),
    _r(
        "SRV-ERR-002",
        "MUST",
        "R2 for an authorized generator that does not exist or has an unknown kind gets 400 with a "
        "JSON string.",
        "§2.5, §2.6",
    ),
    _r(
        "SRV-ERR-003",
        "SHOULD",
        "A secret-backend outage is answered with a 5xx status rather than 400.",
        "S43",
        needs=("faults",),
    ),
)

NOT_COVERED.update(
    {
        "S7": "Byte-exact binary values: the fake secret provider of the default test world holds "
        "text only, so no non-UTF-8 value can be planted yet.",
        "S43 (403 part)": "403 for 'authenticated but not allowed' contradicts the MUST 404 "
        '"Not Found" (S32) that the real clients depend on; only the 5xx part '
        "is checked (SRV-ERR-003).",
    }
)
