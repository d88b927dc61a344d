"""One typed, immutable model per manifest kind, and the set of everything loaded."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
GENERATORS_API_VERSION = "generators.external-secrets.io/v1alpha1"


@dataclass(frozen=True)
class ServiceAccountSpec:
    """A service account of a fake cluster; ``uid`` None lets the cluster choose one."""

    namespace: str
    name: str
    uid: str | None = None


@dataclass(frozen=True)
class PodSpec:
    """A pod of a fake cluster, running as ``service_account`` of the same namespace."""

    namespace: str
    name: str
    service_account: str
    uid: str | None = None
    node: str | None = None


@dataclass(frozen=True)
class FakeClusterSpec:
    """A ``FakeCluster`` manifest: what one fake Kubernetes API server serves and signs."""

    name: str
    issuer: str = DEFAULT_ISSUER
    api_audiences: tuple[str, ...] = ()
    ca_from: str | None = None
    extra_names: tuple[str, ...] = ()
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    key_types: tuple[str, ...] = ("rsa",)
    anonymous_discovery: bool = False
    public_issuer: bool = False
    jwks_uri_host: str | None = None
    service_accounts: tuple[ServiceAccountSpec, ...] = ()
    pods: tuple[PodSpec, ...] = ()

    def __post_init__(self) -> None:
        if not self.api_audiences:
            object.__setattr__(self, "api_audiences", (self.issuer,))


@dataclass(frozen=True)
class KubernetesFederation:
    """Where the server fetches discovery and JWKS for one Kubernetes issuer."""

    name: str
    url: str


@dataclass(frozen=True)
class SpiffeFederation:
    """A SPIFFE trust domain the server accepts client certificates from."""

    name: str
    trust_domain: str


@dataclass(frozen=True)
class OktaFederation:
    """An Okta org: ``domain`` with scheme, and the authorization server whose keys it serves."""

    name: str
    domain: str
    authorization_server_id: str = "default"


@dataclass(frozen=True)
class PingIdentityFederation:
    """A PingOne environment in one region (``com``, ``eu``, ``asia`` or ``ca``)."""

    name: str
    region: str
    environment_id: str


@dataclass(frozen=True)
class FederationRef:
    """Which identity object an Authorization relies on."""

    kind: str
    name: str


@dataclass(frozen=True)
class OidcSubject:
    """An OIDC principal: token issuer and subject."""

    issuer: str
    subject: str


@dataclass(frozen=True)
class AllowedGenerator:
    """One generator an identity may run; ``api_version`` is kept but never compared."""

    name: str
    kind: str
    namespace: str
    api_version: str = GENERATORS_API_VERSION


@dataclass(frozen=True)
class Authorization:
    """What one principal may reach; exactly one of ``oidc`` and ``spiffe_id`` is set."""

    name: str
    federation_ref: FederationRef
    oidc: OidcSubject | None
    spiffe_id: str | None
    allowed_cluster_secret_stores: tuple[str, ...] = ()
    allowed_generators: tuple[AllowedGenerator, ...] = ()
    allowed_generator_states: tuple[str, ...] = ()

    @property
    def authority(self) -> str:
        """The store key of the real server: the OIDC issuer, or the SPIFFE trust domain."""
        if self.oidc is not None:
            return self.oidc.issuer
        assert self.spiffe_id is not None
        return self.spiffe_id.removeprefix("spiffe://").split("/", 1)[0]

    @property
    def principal(self) -> str:
        """What the caller's identity must equal: the OIDC subject, or the full SPIFFE ID."""
        if self.oidc is not None:
            return self.oidc.subject
        assert self.spiffe_id is not None
        return self.spiffe_id


@dataclass(frozen=True)
class FakeSecretEntry:
    """One ``spec.provider.fake.data`` entry; ``version`` is "" when not given."""

    key: str
    value: str
    version: str = ""


@dataclass(frozen=True)
class ClusterSecretStore:
    """A ClusterSecretStore with the fake provider (the only provider the mock serves).

    ``validation_result`` is the fake provider's integer enum (0 Ready, 1 Unknown, 2 Error).
    """

    name: str
    data: tuple[FakeSecretEntry, ...]
    controller: str = ""
    conditions: tuple[dict[str, Any], ...] = field(default=(), hash=False)
    validation_result: int = 0


@dataclass(frozen=True)
class Generator:
    """A namespaced generator the mock can run; ``spec`` is as written, ESO defaults not applied."""

    kind: str
    namespace: str
    name: str
    spec: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ClusterGenerator:
    """A cluster-scoped wrapper: ``kind`` and the inner ``<kind>Spec`` as a plain dict."""

    name: str
    kind: str
    spec: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class UnsupportedGenerator:
    """A generator object of a kind the real server does not run (it answers 400)."""

    kind: str
    namespace: str
    name: str


@dataclass(frozen=True)
class Secret:
    """A Kubernetes Secret (``stringData`` already merged into ``data``)."""

    namespace: str
    name: str
    data: dict[str, bytes] = field(default_factory=dict, hash=False)
    type: str = "Opaque"


AnyGenerator = Generator | UnsupportedGenerator


@dataclass(frozen=True)
class ManifestSet:
    """Everything loaded, keyed the way the server looks objects up.

    ``generators`` holds both runnable ``Generator`` objects and ``UnsupportedGenerator``
    placeholders under ``(namespace, kind, name)``, so one lookup answers "exists, and can it
    run?". ``authorizations`` keeps file order.
    """

    fake_clusters: dict[str, FakeClusterSpec] = field(default_factory=dict)
    kubernetes_federations: dict[str, KubernetesFederation] = field(default_factory=dict)
    spiffe_federations: dict[str, SpiffeFederation] = field(default_factory=dict)
    okta_federations: dict[str, OktaFederation] = field(default_factory=dict)
    pingidentity_federations: dict[str, PingIdentityFederation] = field(default_factory=dict)
    authorizations: tuple[Authorization, ...] = ()
    cluster_secret_stores: dict[str, ClusterSecretStore] = field(default_factory=dict)
    generators: dict[tuple[str, str, str], AnyGenerator] = field(default_factory=dict)
    cluster_generators: dict[str, ClusterGenerator] = field(default_factory=dict)
    secrets: dict[tuple[str, str], Secret] = field(default_factory=dict)

    def merged(self, other: ManifestSet) -> ManifestSet:
        """This set with ``other`` applied on top: same kind/namespace/name is replaced.

        A replaced Authorization keeps its position; new ones are appended.
        """
        by_name = {a.name: a for a in other.authorizations}
        authorizations = [by_name.pop(a.name, a) for a in self.authorizations]
        authorizations.extend(a for a in other.authorizations if a.name in by_name)
        return ManifestSet(
            fake_clusters={**self.fake_clusters, **other.fake_clusters},
            kubernetes_federations={
                **self.kubernetes_federations,
                **other.kubernetes_federations,
            },
            spiffe_federations={**self.spiffe_federations, **other.spiffe_federations},
            okta_federations={**self.okta_federations, **other.okta_federations},
            pingidentity_federations={
                **self.pingidentity_federations,
                **other.pingidentity_federations,
            },
            authorizations=tuple(authorizations),
            cluster_secret_stores={**self.cluster_secret_stores, **other.cluster_secret_stores},
            generators={**self.generators, **other.generators},
            cluster_generators={**self.cluster_generators, **other.cluster_generators},
            secrets={**self.secrets, **other.secrets},
        )

    def without(self, kind: str, name: str, namespace: str | None = None) -> ManifestSet:
        """This set minus one object; ``KeyError`` if there is no such object.

        ``kind`` is the manifest kind (``Authorization``, ``Password``, ``Secret``, …); generator
        kinds and ``Secret`` need ``namespace``.
        """
        named: dict[str, str] = {
            "FakeCluster": "fake_clusters",
            "KubernetesFederation": "kubernetes_federations",
            "SpiffeFederation": "spiffe_federations",
            "OktaFederation": "okta_federations",
            "PingIdentityFederation": "pingidentity_federations",
            "ClusterSecretStore": "cluster_secret_stores",
            "ClusterGenerator": "cluster_generators",
        }
        if kind in named:
            attr = named[kind]
            current = dict(getattr(self, attr))
            del current[name]
            changes: dict[str, Any] = {attr: current}
            return replace(self, **changes)
        if kind == "Authorization":
            if not any(a.name == name for a in self.authorizations):
                raise KeyError(name)
            kept = tuple(a for a in self.authorizations if a.name != name)
            return replace(self, authorizations=kept)
        if namespace is None:
            raise KeyError(f"{kind} {name!r}: a namespace is needed for a namespaced kind")
        if kind == "Secret":
            secrets = dict(self.secrets)
            del secrets[(namespace, name)]
            return replace(self, secrets=secrets)
        generators = dict(self.generators)
        del generators[(namespace, kind, name)]
        return replace(self, generators=generators)
