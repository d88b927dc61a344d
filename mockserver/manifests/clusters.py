"""The project's own ``FakeCluster`` kind: one fake Kubernetes API server per manifest."""

from __future__ import annotations

from typing import Any

from .checks import (
    LABEL_TEXT,
    SUBDOMAIN_TEXT,
    Checker,
    describe,
    host_problem,
    https_url_problem,
    is_dns_label,
    is_dns_subdomain,
)
from .model import DEFAULT_ISSUER, FakeClusterSpec, PodSpec, ServiceAccountSpec
from .paths import child

HARNESS_API_VERSION = "harness.esi-federation.dev/v1alpha1"
KEY_TYPES = ("rsa", "ec")
SPEC_FIELDS = (
    "issuer",
    "apiAudiences",
    "caFrom",
    "extraNames",
    "listen",
    "keys",
    "anonymousDiscovery",
    "publicIssuer",
    "jwksUriHost",
    "serviceAccounts",
    "pods",
)


def _names(c: Checker, item: dict[str, Any], path: str) -> tuple[str | None, str | None]:
    namespace = c.string(item, "namespace", path, required=True)
    if namespace is not None and not is_dns_label(namespace):
        c.fail(child(path, "namespace"), f"expected {LABEL_TEXT}, got {describe(namespace)}")
        namespace = None
    name = c.string(item, "name", path, required=True)
    if name is not None and not is_dns_subdomain(name):
        c.fail(child(path, "name"), f"expected {SUBDOMAIN_TEXT}, got {describe(name)}")
        name = None
    return namespace, name


def _service_accounts(c: Checker, spec: dict[str, Any]) -> list[ServiceAccountSpec]:
    out: list[ServiceAccountSpec] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(c.listing(spec, "serviceAccounts", "spec") or []):
        path = child("spec.serviceAccounts", i)
        if not isinstance(item, dict):
            c.fail(path, f"expected a mapping {{namespace, name, uid?}}, got {describe(item)}")
            continue
        c.fields(item, path, ("namespace", "name", "uid"))
        namespace, name = _names(c, item, path)
        uid = c.string(item, "uid", path, non_empty=True)
        if namespace is None or name is None:
            continue
        if (namespace, name) in seen:
            c.fail(path, f'expected a unique service account, "{namespace}/{name}" is repeated')
            continue
        seen.add((namespace, name))
        out.append(ServiceAccountSpec(namespace, name, uid))
    return out


def _pods(c: Checker, spec: dict[str, Any], accounts: list[ServiceAccountSpec]) -> list[PodSpec]:
    known = {(sa.namespace, sa.name) for sa in accounts}
    out: list[PodSpec] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(c.listing(spec, "pods", "spec") or []):
        path = child("spec.pods", i)
        if not isinstance(item, dict):
            c.fail(
                path,
                "expected a mapping {namespace, name, uid?, serviceAccount, node?}, "
                f"got {describe(item)}",
            )
            continue
        c.fields(item, path, ("namespace", "name", "uid", "serviceAccount", "node"))
        namespace, name = _names(c, item, path)
        uid = c.string(item, "uid", path, non_empty=True)
        node = c.string(item, "node", path, non_empty=True)
        account = c.string(item, "serviceAccount", path, required=True, non_empty=True)
        if namespace is None or name is None or account is None:
            continue
        if (namespace, account) not in known:
            in_ns = sorted(sa.name for sa in accounts if sa.namespace == namespace)
            c.fail(
                child(path, "serviceAccount"),
                f'expected a service account of namespace "{namespace}" listed in '
                f"spec.serviceAccounts (there: {', '.join(in_ns) or 'none'}), "
                f'got "{account}"',
            )
            continue
        if (namespace, name) in seen:
            c.fail(path, f'expected a unique pod, "{namespace}/{name}" is repeated')
            continue
        seen.add((namespace, name))
        out.append(PodSpec(namespace, name, account, uid, node))
    return out


def _keys(c: Checker, spec: dict[str, Any]) -> tuple[str, ...]:
    items = c.listing(spec, "keys", "spec")
    if items is None:
        return ("rsa",)
    if not items:
        c.fail("spec.keys", "expected at least one key (the first one signs)")
    types: list[str] = []
    for i, item in enumerate(items):
        path = child("spec.keys", i)
        if not isinstance(item, dict):
            c.fail(path, f"expected a mapping {{type: rsa|ec}}, got {describe(item)}")
            continue
        c.fields(item, path, ("type",))
        kind = c.choice(item, "type", path, KEY_TYPES)
        if "type" not in item:
            c.fail(child(path, "type"), "expected one of rsa, ec (required)")
        if kind is not None:
            types.append(kind)
    return tuple(types) or ("rsa",)


def _listen(c: Checker, spec: dict[str, Any]) -> tuple[str, int]:
    listen = c.mapping(spec, "listen", "spec", required=False)
    if listen is None:
        return "127.0.0.1", 0
    c.fields(listen, "spec.listen", ("host", "port"))
    host = c.string(listen, "host", "spec.listen", non_empty=True) or "127.0.0.1"
    port = c.integer(listen, "port", "spec.listen", minimum=0, maximum=65535) or 0
    return host, port


def build_fake_cluster(c: Checker, name: str, spec: dict[str, Any]) -> FakeClusterSpec:
    """Validate one FakeCluster spec; ``caFrom`` targets are checked across documents later."""
    c.fields(spec, "spec", SPEC_FIELDS)
    issuer = c.string(spec, "issuer", "spec") or DEFAULT_ISSUER
    problem = https_url_problem(issuer)
    if problem:
        c.fail("spec.issuer", f"expected an https URL without query or fragment; it {problem}")
    audiences = c.string_list(spec, "apiAudiences", "spec")
    if audiences is not None and (not audiences or any(not a for a in audiences)):
        c.fail("spec.apiAudiences", "expected a non-empty list of non-empty strings")
        audiences = None
    ca_from = c.string(spec, "caFrom", "spec", non_empty=True)
    extra = c.string_list(spec, "extraNames", "spec") or []
    for i, host in enumerate(extra):
        bad = host_problem(host)
        if bad:
            c.fail(child("spec.extraNames", i), f"expected a DNS name or IP address; it {bad}")
    jwks_host = c.string(spec, "jwksUriHost", "spec", non_empty=True)
    if jwks_host is not None:
        host_only = jwks_host.rsplit(":", 1)[0] if jwks_host.count(":") == 1 else jwks_host
        bad = host_problem(host_only)
        if bad:
            c.fail("spec.jwksUriHost", f"expected a host name (optionally :port); it {bad}")
    accounts = _service_accounts(c, spec)
    host, port = _listen(c, spec)
    return FakeClusterSpec(
        name=name,
        issuer=issuer,
        api_audiences=tuple(audiences or (issuer,)),
        ca_from=ca_from,
        extra_names=tuple(extra),
        listen_host=host,
        listen_port=port,
        key_types=_keys(c, spec),
        anonymous_discovery=bool(c.boolean(spec, "anonymousDiscovery", "spec")),
        public_issuer=bool(c.boolean(spec, "publicIssuer", "spec")),
        jwks_uri_host=jwks_host,
        service_accounts=tuple(accounts),
        pods=tuple(_pods(c, spec, accounts)),
    )


def ca_from_problems(specs: list[FakeClusterSpec]) -> dict[str, str]:
    """Per cluster name, why its ``caFrom`` is wrong: unknown target, itself, or a cycle."""
    by_name = {s.name: s for s in specs}
    problems: dict[str, str] = {}
    for spec in specs:
        if spec.ca_from is None:
            continue
        if spec.ca_from not in by_name:
            known = ", ".join(sorted(n for n in by_name if n != spec.name)) or "none"
            problems[spec.name] = (
                f'expected the name of another FakeCluster (known: {known}), got "{spec.ca_from}"'
            )
            continue
        chain = [spec.name]
        current: str | None = spec.ca_from
        while current is not None:
            if current in chain:
                cycle = " -> ".join([*chain[chain.index(current) :], current])
                problems[spec.name] = f"expected no cycle of caFrom, got {cycle}"
                break
            chain.append(current)
            target = by_name.get(current)
            current = target.ca_from if target else None
    return problems
