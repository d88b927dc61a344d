"""The federation server's own kinds: identity federations and Authorization."""

from __future__ import annotations

from typing import Any

from .checks import TRUST_DOMAIN, Checker, describe, https_url_problem, spiffe_id_problem
from .model import (
    GENERATORS_API_VERSION,
    AllowedGenerator,
    Authorization,
    FederationRef,
    KubernetesFederation,
    OidcSubject,
    SpiffeFederation,
)
from .paths import child
from .substitution import has_reference

IDENTITY_API_VERSION = "identity.federation.external-secrets.io/v1alpha1"
FEDERATION_API_VERSION = "federation.external-secrets.io/v1alpha1"
FEDERATION_REF_KINDS = (
    "KubernetesFederation",
    "OktaFederation",
    "PingIdentityFederation",
    "SpiffeFederation",
)
OLD_SUBJECT_SHAPE = (
    "expected exactly one of oidc, spiffe; the old flat shape {issuer, subject} is no longer "
    "served — write subject: {oidc: {issuer: ..., subject: ...}}"
)


def build_kubernetes_federation(
    c: Checker, name: str, spec: dict[str, Any], *, resolved: bool
) -> KubernetesFederation | None:
    """``spec.url``: the base URL the server fetches discovery and JWKS from."""
    c.fields(spec, "spec", ("url",))
    url = c.string(spec, "url", "spec", required=True, non_empty=True)
    if url is None:
        return None
    if resolved or not has_reference(url):
        problem = https_url_problem(url, allow_http=True)
        if problem is None and (url.endswith("/") and url.count("/") > 2):
            problem = "must not end with '/'"
        if problem:
            c.fail("spec.url", f"expected an http(s) base URL; it {problem}")
            return None
    return KubernetesFederation(name, url)


def build_spiffe_federation(c: Checker, name: str, spec: dict[str, Any]) -> SpiffeFederation | None:
    """``spec.trustDomain``: a SPIFFE trust domain name such as ``example.org``."""
    c.fields(spec, "spec", ("trustDomain",))
    domain = c.string(spec, "trustDomain", "spec", required=True, non_empty=True)
    if domain is None:
        return None
    if domain.startswith("spiffe://") or not TRUST_DOMAIN.match(domain):
        c.fail(
            "spec.trustDomain",
            "expected a trust domain name (lower-case letters, digits, '.', '_' and '-', no "
            f"spiffe:// prefix), got {describe(domain)}",
        )
        return None
    return SpiffeFederation(name, domain)


def _federation_ref(c: Checker, spec: dict[str, Any]) -> FederationRef | None:
    ref = c.mapping(spec, "federationRef", "spec")
    if ref is None:
        return None
    c.fields(ref, "spec.federationRef", ("kind", "name"))
    kind = c.string(ref, "kind", "spec.federationRef", required=True)
    name = c.string(ref, "name", "spec.federationRef", required=True, non_empty=True)
    if kind is not None and kind not in FEDERATION_REF_KINDS:
        c.fail(
            "spec.federationRef.kind",
            f"expected one of {', '.join(FEDERATION_REF_KINDS)}, got {describe(kind)}",
        )
        return None
    if kind is None or name is None:
        return None
    return FederationRef(kind, name)


def _subject(c: Checker, spec: dict[str, Any]) -> tuple[OidcSubject | None, str | None, bool]:
    subject = c.mapping(spec, "subject", "spec")
    if subject is None:
        return None, None, False
    if "issuer" in subject or "subject" in subject:
        c.fail("spec.subject", OLD_SUBJECT_SHAPE)
        return None, None, False
    present = [k for k in ("oidc", "spiffe") if k in subject]
    c.fields(subject, "spec.subject", ("oidc", "spiffe"))
    if len(present) != 1:
        got = "both" if len(present) == 2 else "neither"
        c.fail("spec.subject", f"expected exactly one of oidc, spiffe, got {got}")
        return None, None, False
    if present == ["oidc"]:
        oidc = c.mapping(subject, "oidc", "spec.subject")
        if oidc is None:
            return None, None, False
        c.fields(oidc, "spec.subject.oidc", ("issuer", "subject"))
        issuer = c.string(oidc, "issuer", "spec.subject.oidc", required=True, non_empty=True)
        sub = c.string(oidc, "subject", "spec.subject.oidc", required=True, non_empty=True)
        if issuer is None or sub is None:
            return None, None, False
        return OidcSubject(issuer, sub), None, True
    spiffe = c.mapping(subject, "spiffe", "spec.subject")
    if spiffe is None:
        return None, None, False
    c.fields(spiffe, "spec.subject.spiffe", ("spiffeID",))
    spiffe_id = c.string(spiffe, "spiffeID", "spec.subject.spiffe", required=True)
    if spiffe_id is None:
        return None, None, False
    problem = spiffe_id_problem(spiffe_id)
    if problem:
        c.fail(
            "spec.subject.spiffe.spiffeID",
            f"expected a SPIFFE ID spiffe://<trust-domain>/<path>; it {problem}",
        )
        return None, None, False
    return None, spiffe_id, True


def _allowed_generators(c: Checker, spec: dict[str, Any]) -> list[AllowedGenerator]:
    out: list[AllowedGenerator] = []
    base = "spec.allowedGenerators"
    for i, item in enumerate(c.listing(spec, "allowedGenerators", "spec", required=True) or []):
        path = child(base, i)
        if not isinstance(item, dict):
            c.fail(
                path,
                f"expected a mapping {{name, kind, namespace, apiVersion?}}, got {describe(item)}",
            )
            continue
        c.fields(item, path, ("name", "kind", "namespace", "apiVersion"))
        name = c.string(item, "name", path, required=True)
        kind = c.string(item, "kind", path, required=True)
        namespace = c.string(item, "namespace", path, required=True)
        api_version = c.string(item, "apiVersion", path) or GENERATORS_API_VERSION
        if name is not None and kind is not None and namespace is not None:
            out.append(AllowedGenerator(name, kind, namespace, api_version))
    return out


def _allowed_generator_states(c: Checker, spec: dict[str, Any]) -> list[str]:
    out: list[str] = []
    base = "spec.allowedGeneratorStates"
    for i, item in enumerate(
        c.listing(spec, "allowedGeneratorStates", "spec", required=True) or []
    ):
        path = child(base, i)
        if not isinstance(item, dict):
            c.fail(path, f"expected a mapping {{namespace}}, got {describe(item)}")
            continue
        c.fields(item, path, ("namespace",))
        namespace = c.string(item, "namespace", path, required=True)
        if namespace is not None:
            out.append(namespace)
    return out


def build_authorization(c: Checker, name: str, spec: dict[str, Any]) -> Authorization | None:
    """An Authorization exactly as the current CRD has it (all four spec members required)."""
    c.fields(
        spec,
        "spec",
        (
            "federationRef",
            "subject",
            "allowedClusterSecretStores",
            "allowedGenerators",
            "allowedGeneratorStates",
        ),
    )
    ref = _federation_ref(c, spec)
    oidc, spiffe_id, subject_ok = _subject(c, spec)
    if c.listing(spec, "allowedClusterSecretStores", "spec", required=True) is not None:
        stores = c.string_list(spec, "allowedClusterSecretStores", "spec")
    else:
        stores = None
    generators = _allowed_generators(c, spec)
    states = _allowed_generator_states(c, spec)
    if ref is None or not subject_ok or stores is None:
        return None
    return Authorization(
        name=name,
        federation_ref=ref,
        oidc=oidc,
        spiffe_id=spiffe_id,
        allowed_cluster_secret_stores=tuple(stores),
        allowed_generators=tuple(generators),
        allowed_generator_states=tuple(states),
    )
