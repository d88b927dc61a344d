"""The request's identity and workload: the authenticator registry's answer, then `x-workload-token`.

Authentication itself lives in `authenticators/` (one module per authenticator, listed in
`authenticators/registry.py`); this module adds the workload step and names the shared types.
"""

from __future__ import annotations

from collections.abc import Callable

from mockserver.federation.authenticators.base import (
    Credentials,
    Identity,
    KubeAttributes,
    Refusal,
)
from mockserver.federation.authenticators.oidc import bearer_token, read_ca_crt
from mockserver.federation.authenticators.spiffe import spiffe_id_of
from mockserver.federation.errors import BadRequest
from mockserver.federation.jwtclaims import WORKLOAD_TOKEN_CLAIMS
from mockserver.federation.jwtparse import JWTError, ParsedToken, parse_unverified
from mockserver.federation.modes import Behaviour

__all__ = [
    "Credentials",
    "Identity",
    "KubeAttributes",
    "Refusal",
    "WorkloadVerifier",
    "bearer_token",
    "read_ca_crt",
    "spiffe_id_of",
    "workload_context",
]


WorkloadVerifier = Callable[[ParsedToken], str | None]
"""Returns None when a workload token is signed by a known cluster, else the reason it is not."""

WORKLOAD_CLAIMS = (
    ("namespace", "kubernetes.io.namespace"),
    ("sa_name", "kubernetes.io.serviceaccount.name"),
    ("sa_uid", "kubernetes.io.serviceaccount.uid"),
)


def workload_context(
    header: str | None, identity: Identity, behaviour: Behaviour, verify: WorkloadVerifier
) -> KubeAttributes | None:
    """The workload a request acts for: a valid `x-workload-token`, else the identity's own."""
    if not header:
        return identity.kube
    try:
        parsed = parse_unverified(header, WORKLOAD_TOKEN_CLAIMS)
    except JWTError as exc:
        raise BadRequest(
            f"invalid x-workload-token: failed to parse x-workload-token: {exc}"
        ) from exc
    attributes = KubeAttributes.from_claims(parsed.claims)
    for field_name, claim in WORKLOAD_CLAIMS:
        if not getattr(attributes, field_name):
            raise BadRequest(f"invalid x-workload-token: x-workload-token missing {claim}")
    if not behaviour.enabled("unverified-workload-token"):
        reason = verify(parsed)
        if reason is not None:
            raise BadRequest(f"invalid x-workload-token: {reason}")
    return attributes
