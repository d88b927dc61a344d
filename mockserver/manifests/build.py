"""From documents to a ManifestSet: which kinds exist, metadata rules, duplicates."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .checks import LABEL_TEXT, SUBDOMAIN_TEXT, Checker, describe, is_dns_label, is_dns_subdomain
from .clusters import HARNESS_API_VERSION, build_fake_cluster, ca_from_problems
from .documents import Document
from .errors import ManifestError, raise_if_any
from .eso_kinds import ESO_API_VERSION, build_cluster_secret_store, build_secret
from .federation_kinds import (
    FEDERATION_API_VERSION,
    IDENTITY_API_VERSION,
    build_authorization,
    build_kubernetes_federation,
    build_spiffe_federation,
)
from .generator_kinds import SUPPORTED_KINDS, build_cluster_generator, check_generator_spec
from .idp_kinds import build_okta_federation, build_pingidentity_federation
from .model import (
    GENERATORS_API_VERSION,
    Authorization,
    ClusterGenerator,
    ClusterSecretStore,
    FakeClusterSpec,
    Generator,
    KubernetesFederation,
    ManifestSet,
    OktaFederation,
    PingIdentityFederation,
    Secret,
    SpiffeFederation,
    UnsupportedGenerator,
)
from .paths import child
from .substitution import has_reference

GENERATORS_GROUP = GENERATORS_API_VERSION.split("/")[0]
_PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_OLD_IDENTITY_KINDS = (
    "KubernetesFederation",
    "SpiffeFederation",
    "OktaFederation",
    "PingIdentityFederation",
)


@dataclass(frozen=True)
class KindInfo:
    """How one kind is addressed and validated."""

    api_version: str
    namespaced: bool
    label_name: bool = False
    spec_required: bool = True


KINDS: dict[str, KindInfo] = {
    "FakeCluster": KindInfo(HARNESS_API_VERSION, False, label_name=True, spec_required=False),
    "KubernetesFederation": KindInfo(IDENTITY_API_VERSION, False),
    "SpiffeFederation": KindInfo(IDENTITY_API_VERSION, False),
    "OktaFederation": KindInfo(IDENTITY_API_VERSION, False),
    "PingIdentityFederation": KindInfo(IDENTITY_API_VERSION, False),
    "Authorization": KindInfo(FEDERATION_API_VERSION, False),
    "ClusterSecretStore": KindInfo(ESO_API_VERSION, False),
    "Secret": KindInfo("v1", True, spec_required=False),
    "ClusterGenerator": KindInfo(GENERATORS_API_VERSION, False),
    **{
        kind: KindInfo(GENERATORS_API_VERSION, True, spec_required=False)
        for kind in SUPPORTED_KINDS
    },
}


def known_kinds_text() -> str:
    """The kinds the loader knows, for "unknown kind" errors."""
    listed = ", ".join(f"{kind} ({info.api_version})" for kind, info in KINDS.items())
    return (
        f"{listed}, or any other generator kind in {GENERATORS_API_VERSION} (kept as unsupported)"
    )


def _api_version_problem(kind: str, api_version: str) -> str | None:
    info = KINDS[kind]
    if api_version == info.api_version:
        return None
    if kind in _OLD_IDENTITY_KINDS and api_version.startswith("federation.external-secrets.io/"):
        return (
            f"expected {info.api_version}; {kind} moved out of the old group "
            f"federation.external-secrets.io, which is no longer served — write apiVersion: "
            f"{info.api_version}"
        )
    if kind == "ClusterSecretStore" and api_version.startswith("external-secrets.io/"):
        return (
            f"expected {info.api_version}; {api_version} is no longer served (ESO v0.17.0 and "
            f"later) — write apiVersion: {info.api_version}"
        )
    return f"expected {info.api_version} for kind {kind}, got {describe(api_version)}"


def _unresolved(c: Checker, value: Any, path: str) -> None:
    if isinstance(value, str):
        if has_reference(value):
            c.fail(
                path,
                f"expected no unresolved variable, got {describe(value)}; pass the documents "
                "through substitute() first (or build_model(..., allow_unresolved=True))",
            )
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _unresolved(c, item, child(path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            _unresolved(c, item, child(path, key))


Built = Any
Key = tuple[str, str, str]


def _resolve_kind(c: Checker, data: dict[str, Any]) -> tuple[str, KindInfo] | None:
    api_version = c.string(data, "apiVersion", "", required=True)
    kind = c.string(data, "kind", "", required=True)
    if api_version is None or kind is None:
        return None
    if kind in KINDS:
        problem = _api_version_problem(kind, api_version)
        if problem:
            c.fail("apiVersion", problem)
            return None
        return kind, KINDS[kind]
    if api_version.split("/")[0] == GENERATORS_GROUP:
        if api_version != GENERATORS_API_VERSION:
            c.fail("apiVersion", f"expected {GENERATORS_API_VERSION}, got {describe(api_version)}")
            return None
        if kind == "GeneratorState":
            c.fail(
                "kind",
                "expected a generator kind; GeneratorState objects are written by the server",
            )
            return None
        if not _PASCAL.match(kind):
            c.fail("kind", f"expected a generator kind name (PascalCase), got {describe(kind)}")
            return None
        return kind, KindInfo(GENERATORS_API_VERSION, True, spec_required=False)
    c.fail("kind", f"expected one of {known_kinds_text()}; got {describe(kind)} ({api_version})")
    return None


def _metadata(c: Checker, data: dict[str, Any], kind: str, info: KindInfo) -> tuple[str, str, bool]:
    """Namespace and name (placeholders if broken) and whether both are valid."""
    meta = c.mapping(data, "metadata", "")
    if meta is None:
        return "", "", False
    name = c.string(meta, "name", "metadata", required=True)
    ok = name is not None
    if name is not None:
        valid = is_dns_label(name) if info.label_name else is_dns_subdomain(name)
        if not valid:
            rule = LABEL_TEXT if info.label_name else SUBDOMAIN_TEXT
            c.fail("metadata.name", f"expected {rule}, got {describe(name)}")
            ok = False
    namespace = meta.get("namespace")
    if info.namespaced:
        if namespace is None:
            namespace = "default"
        elif not isinstance(namespace, str) or not is_dns_label(namespace):
            c.fail("metadata.namespace", f"expected {LABEL_TEXT}, got {describe(namespace)}")
            ok = False
    elif namespace not in (None, ""):
        c.fail(
            "metadata.namespace",
            f"expected no namespace: {kind} is cluster-scoped, got {describe(namespace)}",
        )
        ok = False
    if not info.namespaced or not isinstance(namespace, str):
        namespace = ""
    return namespace, name or "", ok


def _build_spec(
    c: Checker,
    kind: str,
    info: KindInfo,
    namespace: str,
    name: str,
    data: dict[str, Any],
    *,
    resolved: bool,
) -> Built | None:
    if kind == "Secret":
        return build_secret(c, namespace, name, data)
    spec = c.mapping(data, "spec", "", required=info.spec_required)
    if spec is None:
        if info.spec_required:
            return None
        spec = {}
    builders: dict[str, Callable[[], Built | None]] = {
        "FakeCluster": lambda: build_fake_cluster(c, name, spec),
        "KubernetesFederation": lambda: build_kubernetes_federation(
            c, name, spec, resolved=resolved
        ),
        "SpiffeFederation": lambda: build_spiffe_federation(c, name, spec),
        "OktaFederation": lambda: build_okta_federation(c, name, spec, resolved=resolved),
        "PingIdentityFederation": lambda: build_pingidentity_federation(c, name, spec),
        "Authorization": lambda: build_authorization(c, name, spec),
        "ClusterSecretStore": lambda: build_cluster_secret_store(c, name, spec),
        "ClusterGenerator": lambda: build_cluster_generator(c, name, spec),
    }
    if kind in builders:
        return builders[kind]()
    if kind in SUPPORTED_KINDS:
        check_generator_spec(c, kind, spec, "spec")
        return Generator(kind, namespace, name, spec)
    return UnsupportedGenerator(kind, namespace, name)


def build_document(
    doc: Document, *, allow_unresolved: bool = False
) -> tuple[Key | None, Built | None, list[ManifestError]]:
    """Validate one document: its identity key, its typed object, and every problem found."""
    c = Checker(doc)
    data = doc.data
    if not doc.substituted and not allow_unresolved:
        _unresolved(c, data, "")
    found = _resolve_kind(c, data)
    if found is None:
        return None, None, c.errors
    kind, info = found
    top = ["apiVersion", "kind", "metadata", "spec", "status"]
    if kind == "Secret":
        top = ["apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable"]
    c.fields(data, "", top)
    namespace, name, ok = _metadata(c, data, kind, info)
    built = _build_spec(c, kind, info, namespace, name, data, resolved=doc.substituted)
    if not ok:
        return None, built, c.errors
    return (kind, namespace, name), built, c.errors


def _described(key: Key) -> str:
    kind, namespace, name = key
    return f'{kind} "{namespace}/{name}"' if namespace else f'{kind} "{name}"'


def _load(
    docs: Iterable[Document], *, allow_unresolved: bool, only_clusters: bool
) -> tuple[list[tuple[Document, Key, Built]], list[ManifestError]]:
    errors: list[ManifestError] = []
    objects: list[tuple[Document, Key, Built]] = []
    first_seen: dict[Key, Document] = {}
    clusters: list[tuple[Document, FakeClusterSpec]] = []
    for doc in docs:
        if only_clusters and doc.kind != "FakeCluster":
            continue
        key, built, problems = build_document(doc, allow_unresolved=allow_unresolved)
        errors.extend(problems)
        if isinstance(built, FakeClusterSpec) and key is not None:
            clusters.append((doc, built))
        if key is None:
            continue
        if key in first_seen:
            other = first_seen[key]
            errors.append(
                doc.error(
                    "metadata.name",
                    f"expected a unique name; {_described(key)} is already defined in "
                    f"{other.file} document {other.index}",
                )
            )
            continue
        first_seen[key] = doc
        if built is not None and not problems:
            objects.append((doc, key, built))
    for name, problem in ca_from_problems([b for _, b in clusters]).items():
        doc = next(d for d, b in clusters if b.name == name)
        errors.append(doc.error("spec.caFrom", problem))
    return objects, errors


def fake_cluster_specs(docs: Iterable[Document]) -> list[FakeClusterSpec]:
    """The FakeCluster manifests alone, validated; other kinds are ignored.

    Usable before ``substitute``: the clusters must listen before their URLs are known.
    """
    objects, errors = _load(docs, allow_unresolved=True, only_clusters=True)
    raise_if_any(errors)
    return [built for _, _, built in objects]


def build_model(docs: Iterable[Document], *, allow_unresolved: bool = False) -> ManifestSet:
    """Validate every document and return the typed set; all problems raise as one error."""
    objects, errors = _load(docs, allow_unresolved=allow_unresolved, only_clusters=False)
    raise_if_any(errors)
    fake_clusters: dict[str, FakeClusterSpec] = {}
    kubernetes: dict[str, KubernetesFederation] = {}
    spiffe: dict[str, SpiffeFederation] = {}
    okta: dict[str, OktaFederation] = {}
    ping: dict[str, PingIdentityFederation] = {}
    authorizations: list[Authorization] = []
    stores: dict[str, ClusterSecretStore] = {}
    generators: dict[tuple[str, str, str], Generator | UnsupportedGenerator] = {}
    cluster_generators: dict[str, ClusterGenerator] = {}
    secrets: dict[tuple[str, str], Secret] = {}
    for _, (kind, namespace, name), built in objects:
        if isinstance(built, FakeClusterSpec):
            fake_clusters[name] = built
        elif isinstance(built, KubernetesFederation):
            kubernetes[name] = built
        elif isinstance(built, SpiffeFederation):
            spiffe[name] = built
        elif isinstance(built, OktaFederation):
            okta[name] = built
        elif isinstance(built, PingIdentityFederation):
            ping[name] = built
        elif isinstance(built, Authorization):
            authorizations.append(built)
        elif isinstance(built, ClusterSecretStore):
            stores[name] = built
        elif isinstance(built, ClusterGenerator):
            cluster_generators[name] = built
        elif isinstance(built, Secret):
            secrets[(namespace, name)] = built
        else:
            generators[(namespace, kind, name)] = built
    return ManifestSet(
        fake_clusters=fake_clusters,
        kubernetes_federations=kubernetes,
        spiffe_federations=spiffe,
        okta_federations=okta,
        pingidentity_federations=ping,
        authorizations=tuple(authorizations),
        cluster_secret_stores=stores,
        generators=generators,
        cluster_generators=cluster_generators,
        secrets=secrets,
    )
