"""The controller's lookups: stores and generators by reference, Secret and ConfigMap keys, and
the provider and generator clients built from them (one provider client per store per render,
as ESO's client manager keeps one per reconcile)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mockserver.manifests import Secret

from .clients import ClientError, Exchange, GeneratorClient, ProviderClient
from .environment import ROOT_CA_CONFIGMAP, Environment, SetupError
from .externalsecret import SyncError
from .model import (
    CARef,
    ClientManifests,
    GeneratorRef,
    KeyRef,
    ProviderStore,
    StoreCondition,
    StoreRef,
)

EMPTY_STORE_KIND = "EmptyStoreKind"
NAME_LABEL = "kubernetes.io/metadata.name"
MSG_UNABLE_CREATE_CLIENT = "unable to create client"
MSG_INVALID_STORE = "invalid store"
RESOURCES = {"ClusterSecretStore": "clustersecretstores", "SecretStore": "secretstores"}


@dataclass(frozen=True)
class StoreFailure:
    """Why the store controller left a store Ready=False: its condition message and the
    Warning event it recorded (`InvalidProviderConfig`)."""

    store: ProviderStore
    condition: str
    event: str


def selector_matches(cond: StoreCondition, labels: dict[str, str]) -> bool:
    """`metav1.LabelSelectorAsSelector(...).Matches`: every matchLabel and expression holds."""
    if any(labels.get(k) != v for k, v in cond.match_labels):
        return False
    for key, operator, values in cond.match_expressions:
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def namespace_allowed(conditions: tuple[StoreCondition, ...], labels: dict[str, str]) -> bool:
    """`Manager.shouldProcessSecret`: no conditions admit all; else any selector, any listed
    namespace (a `kubernetes.io/metadata.name` selector) or any unanchored regex admits."""
    if not conditions:
        return True
    name = labels.get(NAME_LABEL, "")
    for cond in conditions:
        if cond.has_selector and selector_matches(cond, labels):
            return True
        if name in cond.namespaces:
            return True
        if any(re.search(pattern, name) for pattern in cond.namespace_regexes):
            return True
    return False


def validate_store(store: ProviderStore) -> str | None:
    """The provider's `ValidateStore` (`utils.ValidateServiceAccountSelector`): a
    ClusterSecretStore's service account must name its namespace; a SecretStore's may only name
    its own."""
    namespace = store.service_account.namespace
    if store.cluster_scoped and namespace is None:
        return "cluster scope requires namespace"
    if not store.cluster_scoped and namespace is not None and namespace != store.namespace:
        return (
            "namespace should either be empty or match the namespace of the SecretStore for a "
            "namespaced SecretStore"
        )
    return None


EMPTY_NAMESPACE = "an empty namespace may not be set when a resource name is provided"


class ManifestResolver:
    """Implements `externalsecret.Resolver` over client-side manifests and an environment."""

    def __init__(self, manifests: ClientManifests, env: Environment, *, released: bool) -> None:
        self.manifests = manifests
        self.env = env
        self.released = released
        self._providers: dict[tuple[str, str, str], ProviderClient] = {}
        self.generator_clients: list[GeneratorClient] = []
        self.store_failures: dict[tuple[str, str, str], StoreFailure | None] = {}
        self._spent: list[ProviderClient] = []
        for account in manifests.service_accounts:
            env.ensure_service_account(account.cluster, account.namespace, account.name)

    def new_reconcile(self) -> None:
        """ESO builds a new client manager per reconcile: provider clients (and their
        TokenRequest tokens) are made again; the clients of earlier reconciles keep their log."""
        self._spent.extend(self._providers.values())
        self._providers = {}

    # -- Kubernetes objects ----------------------------------------------------------------------

    def secret_key(self, ref: KeyRef, store_kind: str, namespace: str) -> bytes:
        """`resolvers.SecretKeyRef`: only a ClusterSecretStore may read another namespace."""
        if store_kind == "ClusterSecretStore" and ref.namespace:
            namespace = ref.namespace
        if not namespace:
            raise ClientError(EMPTY_NAMESPACE)
        secret: Secret | None = self.manifests.secrets.get((namespace, ref.name))
        if secret is None:
            raise ClientError(
                f'cannot get Kubernetes secret "{ref.name}" from namespace "{namespace}": '
                f'secrets "{ref.name}" not found'
            )
        if ref.key not in secret.data:
            raise ClientError(f'cannot find secret data for key: "{ref.key}"')
        return secret.data[ref.key]

    def config_map_key(
        self, ref: KeyRef, store_kind: str, namespace: str, cluster: str | None
    ) -> bytes:
        """A ConfigMap key; the ref's namespace is honoured whatever the store kind (as the
        provider reads it); `kube-root-ca.crt`/`ca.crt` comes from the fake cluster if absent."""
        namespace = ref.namespace or namespace
        if not namespace:
            raise ClientError(EMPTY_NAMESPACE)
        config_map = self.manifests.config_maps.get((namespace, ref.name))
        if config_map is None and ref.name == ROOT_CA_CONFIGMAP:
            root = self.env.root_ca(cluster)
            if root is not None and ref.key == "ca.crt":
                return root
        if config_map is None:
            raise ClientError(
                f'cannot get Kubernetes configmap "{ref.name}": configmaps "{ref.name}" not found'
            )
        if ref.key not in config_map.data:
            raise ClientError(f'cannot find configmap data for key: "{ref.key}"')
        return config_map.data[ref.key].encode()

    def ca_bytes(self, ref: CARef, store: ProviderStore, namespace: str) -> bytes:
        """`getCertificateBytes`: bundle, else secretRef, else configMapRef (raw PEM)."""
        if ref.bundle is not None:
            return ref.bundle
        try:
            if ref.secret_ref is not None:
                return self.secret_key(ref.secret_ref, store.kind, namespace)
            if ref.configmap_ref is not None:
                return self.config_map_key(ref.configmap_ref, store.kind, namespace, store.cluster)
        except ClientError as exc:
            raise ClientError(f"could not get secret for certs:{exc}") from exc
        raise ClientError("no cert ref found")

    # -- templateFrom sources (`templating.TemplateSources`) --------------------------------------

    def config_map_data(self, namespace: str, name: str) -> dict[str, str]:
        """A ConfigMap's data; `LookupError` carries the API server's not-found text."""
        config_map = self.manifests.config_maps.get((namespace, name))
        if config_map is None:
            raise LookupError(f'configmaps "{name}" not found')
        return dict(config_map.data)

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes]:
        """A Secret's data; `LookupError` carries the API server's not-found text."""
        secret = self.manifests.secrets.get((namespace, name))
        if secret is None:
            raise LookupError(f'secrets "{name}" not found')
        return dict(secret.data)

    # -- stores ----------------------------------------------------------------------------------

    def store(self, ref: StoreRef, namespace: str) -> ProviderClient:
        """The provider client for the store an ExternalSecret in `namespace` names."""
        store = self.manifests.store(ref, namespace)
        if store is None:
            raise ClientError(
                f'could not get {ref.kind} "{ref.name}", '
                f'{RESOURCES[ref.kind]}.external-secrets.io "{ref.name}" not found'
            )
        if store.cluster_scoped:
            labels = {**self.manifests.namespace_labels.get(namespace, {}), NAME_LABEL: namespace}
            if not namespace_allowed(store.conditions, labels):
                raise ClientError(
                    f'using cluster store "{store.name}" is not allowed from namespace '
                    f'"{namespace}": denied by spec.condition'
                )
        if self.store_failure(store) is not None:
            raise ClientError(f'{store.kind} "{store.name}" is not ready')
        cache_key = (store.kind, store.namespace or namespace, store.name)
        if cache_key not in self._providers:
            self._providers[cache_key] = self._new_provider(store, namespace)
        return self._providers[cache_key]

    def store_failure(self, store: ProviderStore) -> StoreFailure | None:
        """The store controller's verdict (flood gate): `ValidateStore`, then a client built
        in the store's own namespace (empty for a ClusterSecretStore), as `validateStore` does."""
        key = (store.kind, store.namespace, store.name)
        if key not in self.store_failures:
            failure = None
            problem = validate_store(store)
            if problem is not None:
                failure = StoreFailure(store, MSG_INVALID_STORE, f"invalid store: {problem}")
            else:
                try:
                    self._new_provider(store, store.namespace)
                except (ClientError, SetupError) as exc:
                    failure = StoreFailure(store, MSG_UNABLE_CREATE_CLIENT, str(exc))
            self.store_failures[key] = failure
        return self.store_failures[key]

    def _new_provider(self, store: ProviderStore, namespace: str) -> ProviderClient:
        server_ca = self.ca_bytes(store.server_ca, store, namespace) if store.server_ca else None
        client_ca = self.ca_bytes(store.client_ca, store, namespace)
        account = store.service_account
        sa_namespace = namespace
        if store.cluster_scoped and account.namespace:
            sa_namespace = account.namespace
        try:
            token = self.env.request_token(
                store.cluster, sa_namespace, account.name, account.audiences
            )
        except SetupError as exc:
            raise ClientError(str(exc)) from exc
        return ProviderClient(
            store.url,
            store.target_store,
            token,
            client_ca,
            server_ca,
            released=self.released,
        )

    # -- generators ------------------------------------------------------------------------------

    def generator_client(self, ref: GeneratorRef, namespace: str) -> GeneratorClient:
        """The Federation generator client; resolution errors read as ESO's."""
        if ref.kind != "Federation":
            raise SyncError(
                f"unable to get generator: esi-mock render runs the Federation generator only, "
                f"got kind {ref.kind}"
            )
        generator = self.manifests.generators.get((namespace, ref.name))
        if generator is None:
            raise SyncError(
                f"unable to get generator: federations.generators.external-secrets.io "
                f'"{ref.name}" not found'
            )
        try:
            token = self._generator_secret(generator.token_ref, namespace)
            ca = self._generator_secret(generator.ca_ref, namespace) if generator.ca_ref else None
        except ClientError as exc:
            raise SyncError(f"error using generator: could not fetch secret ref: {exc}") from exc
        client = GeneratorClient(
            generator.url,
            generator.target_namespace,
            generator.target_kind,
            generator.target_name,
            token.decode("utf-8", "surrogateescape"),
            ca,
            released=self.released,
        )
        self.generator_clients.append(client)
        return client

    def _generator_secret(self, ref: KeyRef | None, namespace: str) -> bytes:
        if ref is None:
            raise ClientError("secret reference is nil")
        try:
            return self.secret_key(ref, EMPTY_STORE_KIND, namespace)
        except ClientError as exc:
            raise ClientError(f"could not fetch secret ref: {exc}") from exc

    def generate(self, ref: GeneratorRef, namespace: str) -> dict[str, bytes]:
        """`Generate` through the Federation generator; its errors get `error using generator:`."""
        client = self.generator_client(ref, namespace)
        try:
            return client.generate()
        except ClientError as exc:
            raise SyncError(f"error using generator: {exc}") from exc

    @property
    def exchanges(self) -> list[Exchange]:
        """Every request made so far, in order per client."""
        out: list[Exchange] = []
        for provider in [*self._spent, *self._providers.values()]:
            out.extend(provider.log)
        for generator in self.generator_clients:
            out.extend(generator.log)
        return out
