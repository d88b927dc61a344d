"""Typed client-side objects: what an ESE controller reads before it calls a Federation Server."""

from __future__ import annotations

from dataclasses import dataclass, field

from mockserver.manifests import Secret

ESO_API_VERSION = "external-secrets.io/v1"
GENERATORS_API_VERSION = "generators.external-secrets.io/v1alpha1"
CLUSTER_ANNOTATION = "harness.esi-federation.dev/cluster"
"""Names the fake cluster a client-side object lives in (tokens are minted there)."""


@dataclass(frozen=True)
class KeyRef:
    """A ``SecretKeySelector`` (or a ConfigMap key selector): name, key, optional namespace."""

    name: str
    key: str
    namespace: str | None = None


@dataclass(frozen=True)
class CARef:
    """``ExternalSecretsCARef``: PEM bytes inline, or from a Secret or ConfigMap key."""

    bundle: bytes | None = None
    secret_ref: KeyRef | None = None
    configmap_ref: KeyRef | None = None

    @property
    def empty(self) -> bool:
        return self.bundle is None and self.secret_ref is None and self.configmap_ref is None


@dataclass(frozen=True)
class ServiceAccountRef:
    """``serviceAccountRef``: the account a TokenRequest is made for."""

    name: str
    namespace: str | None = None
    audiences: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoreCondition:
    """One ``spec.conditions[]`` entry of a ClusterSecretStore: any of its selectors admits."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    has_selector: bool = False
    namespaces: tuple[str, ...] = ()
    namespace_regexes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProviderStore:
    """A SecretStore / ClusterSecretStore with ``spec.provider.externalsecrets``.

    ``kind`` is ``SecretStore``, ``ClusterSecretStore`` or ``FederationStore`` (the documentation's
    conceptual name, read as a namespaced SecretStore whose ``spec`` is the provider block).
    """

    kind: str
    namespace: str
    name: str
    url: str
    server_ca: CARef | None
    service_account: ServiceAccountRef
    client_ca: CARef
    target_store: str
    cluster: str | None = None
    conditions: tuple[StoreCondition, ...] = ()

    @property
    def cluster_scoped(self) -> bool:
        return self.kind == "ClusterSecretStore"


@dataclass(frozen=True)
class FederationGenerator:
    """The enterprise ``Federation`` generator (``generators.external-secrets.io/v1alpha1``)."""

    namespace: str
    name: str
    url: str
    target_namespace: str
    target_kind: str
    target_name: str
    token_ref: KeyRef | None
    ca_ref: KeyRef | None
    cluster: str | None = None


@dataclass(frozen=True)
class StoreRef:
    """``secretStoreRef`` / ``sourceRef.storeRef``: kind defaults to SecretStore."""

    name: str
    kind: str = "SecretStore"


@dataclass(frozen=True)
class GeneratorRef:
    """``sourceRef.generatorRef``."""

    api_version: str
    kind: str
    name: str


@dataclass(frozen=True)
class RemoteRef:
    """``remoteRef`` / ``extract``: what to fetch and how to turn it into bytes and keys."""

    key: str
    property: str = ""
    version: str = ""
    decoding: str = "None"
    conversion: str = "Default"


@dataclass(frozen=True)
class FindRef:
    """``dataFrom[].find``: kept so the error says what ESO would say."""

    conversion: str = "Default"
    decoding: str = "None"


@dataclass(frozen=True)
class Rewrite:
    """One ``rewrite[]`` step: ``regexp`` (source, target) or ``transform`` (template);
    ``merge`` is reported as unsupported."""

    kind: str
    source: str = ""
    target: str = ""
    template: str = ""


@dataclass(frozen=True)
class DataEntry:
    """One ``data[]`` item."""

    secret_key: str
    remote_ref: RemoteRef
    store: StoreRef | None = None


@dataclass(frozen=True)
class DataFromEntry:
    """One ``dataFrom[]`` item: ``extract``, ``find`` or a generator."""

    extract: RemoteRef | None = None
    find: FindRef | None = None
    generator: GeneratorRef | None = None
    store: StoreRef | None = None
    rewrites: tuple[Rewrite, ...] = ()


@dataclass(frozen=True)
class TemplateItem:
    """``templateFrom[].configMap|secret.items[]``: a key and how it is read."""

    key: str
    template_as: str = "Values"


@dataclass(frozen=True)
class TemplateFrom:
    """One ``templateFrom[]`` source: a ConfigMap, a Secret or a literal, and its target."""

    target: str = "Data"
    config_map: str | None = None
    config_map_items: tuple[TemplateItem, ...] = ()
    secret: str | None = None
    secret_items: tuple[TemplateItem, ...] = ()
    literal: str | None = None


@dataclass(frozen=True)
class Template:
    """``spec.target.template``: type, metadata (values are templates), data and templateFrom."""

    type: str = ""
    engine_version: str = "v2"
    merge_policy: str = "Replace"
    labels: dict[str, str] = field(default_factory=dict, hash=False)
    annotations: dict[str, str] = field(default_factory=dict, hash=False)
    data: dict[str, str] = field(default_factory=dict, hash=False)
    template_from: tuple[TemplateFrom, ...] = ()


@dataclass(frozen=True)
class Target:
    """``spec.target``."""

    name: str
    creation_policy: str = "Owner"
    deletion_policy: str = "Retain"
    immutable: bool = False
    template: Template | None = None


@dataclass(frozen=True)
class ExternalSecret:
    """An ExternalSecret as the controller processes it."""

    namespace: str
    name: str
    store: StoreRef | None
    target: Target
    data: tuple[DataEntry, ...] = ()
    data_from: tuple[DataFromEntry, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, hash=False)
    annotations: dict[str, str] = field(default_factory=dict, hash=False)
    source: str = ""


@dataclass(frozen=True)
class ConfigMap:
    """A core/v1 ConfigMap (``data`` only)."""

    namespace: str
    name: str
    data: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ServiceAccount:
    """A core/v1 ServiceAccount the client cluster must know before a token is minted for it."""

    namespace: str
    name: str
    cluster: str | None = None


@dataclass
class ClientManifests:
    """Everything one render reads, keyed the way the controller looks objects up."""

    stores: dict[tuple[str, str, str], ProviderStore] = field(default_factory=dict)
    generators: dict[tuple[str, str], FederationGenerator] = field(default_factory=dict)
    external_secrets: list[ExternalSecret] = field(default_factory=list)
    secrets: dict[tuple[str, str], Secret] = field(default_factory=dict)
    config_maps: dict[tuple[str, str], ConfigMap] = field(default_factory=dict)
    service_accounts: list[ServiceAccount] = field(default_factory=list)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    secret_meta: dict[tuple[str, str], tuple[dict[str, str], dict[str, str]]] = field(
        default_factory=dict
    )
    """Labels and annotations of the Secrets given (a Merge target keeps its own)."""

    def store(self, ref: StoreRef, namespace: str) -> ProviderStore | None:
        """The store an ExternalSecret in ``namespace`` names; FederationStore stands in for
        SecretStore and the other way round."""
        if ref.kind == "ClusterSecretStore":
            return self.stores.get(("ClusterSecretStore", "", ref.name))
        return self.stores.get(("SecretStore", namespace, ref.name))
