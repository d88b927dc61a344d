"""Authorization: identity + resource → the Authorization that grants it (docs/protocol.md §4.1).

Exact, case-sensitive matching; the issuer's (or trust domain's) Authorizations are walked newest
first and the first one whose principal equals the subject and whose list holds the resource
serves the request, so several Authorizations for one subject act as a union. A denial is 404
`"Not Found"`; it carries a near-miss explanation for the journal, never for the client.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mockserver.federation.authn import Identity
from mockserver.federation.errors import Denied


@dataclass(frozen=True)
class StoreResource:
    store: str

    def granted_by(self, authorization: Any) -> bool:
        return self.store in authorization.allowed_cluster_secret_stores

    def allowed(self, authorization: Any) -> list[str]:
        return list(authorization.allowed_cluster_secret_stores)

    def label(self) -> str:
        return self.store

    what = "ClusterSecretStore"


@dataclass(frozen=True)
class GeneratorResource:
    namespace: str
    kind: str
    name: str

    def granted_by(self, authorization: Any) -> bool:
        return any(
            (g.namespace, g.kind, g.name) == (self.namespace, self.kind, self.name)
            for g in authorization.allowed_generators
        )

    def allowed(self, authorization: Any) -> list[str]:
        return [f"{g.namespace}/{g.kind}/{g.name}" for g in authorization.allowed_generators]

    def label(self) -> str:
        return f"{self.namespace}/{self.kind}/{self.name}"

    what = "generator"


@dataclass(frozen=True)
class GeneratorStatesResource:
    namespace: str

    def granted_by(self, authorization: Any) -> bool:
        return self.namespace in authorization.allowed_generator_states

    def allowed(self, authorization: Any) -> list[str]:
        return list(authorization.allowed_generator_states)

    def label(self) -> str:
        return self.namespace

    what = "GeneratorState namespace"


Resource = StoreResource | GeneratorResource | GeneratorStatesResource


def authorize(authorizations: Sequence[Any], identity: Identity, resource: Resource) -> Any:
    """Return the Authorization that grants `resource` to `identity`, or raise Denied."""
    candidates = [a for a in reversed(authorizations) if a.authority == identity.provider]
    for authorization in candidates:
        if authorization.principal == identity.subject and resource.granted_by(authorization):
            return authorization
    raise Denied(near_miss=explain_denial(authorizations, candidates, identity, resource))


def _closest(value: str, options: Sequence[str]) -> str:
    found = difflib.get_close_matches(value, options, n=1, cutoff=0.0)
    return found[0] if found else ""


def explain_denial(
    authorizations: Sequence[Any], candidates: Sequence[Any], identity: Identity, resource: Resource
) -> str:
    """Say what came closest and which field differed, for the request journal."""
    if not candidates:
        authorities = sorted({a.authority for a in authorizations})
        near = _closest(identity.provider, authorities)
        hint = f"; closest is {near!r}" if near else ""
        return f"no Authorization names issuer {identity.provider!r}{hint}"
    mine = [a for a in candidates if a.principal == identity.subject]
    if not mine:
        subjects = sorted({a.principal for a in candidates})
        near = _closest(identity.subject, subjects)
        return (
            f"no Authorization for issuer {identity.provider!r} names subject "
            f"{identity.subject!r}; closest subject is {near!r}"
        )
    allowed = sorted({item for a in mine for item in resource.allowed(a)})
    names = ", ".join(a.name for a in mine)
    if not allowed:
        return f"Authorization {names} lists no {resource.what} for subject {identity.subject!r}"
    near = _closest(resource.label(), allowed)
    return (
        f"{resource.what} {resource.label()!r} is not listed by Authorization {names} "
        f"(allowed: {', '.join(allowed)}); closest match is {near!r}"
    )
