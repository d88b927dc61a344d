"""Client-side manifests: stores with the `externalsecrets` provider, the `Federation` generator,
ExternalSecrets and the Secrets, ConfigMaps and ServiceAccounts they reference.

Validation follows the manifests package (every problem collected, each located by file,
document and field), so a user fixes a whole file in one pass.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any

from mockserver.manifests import Document, ManifestError
from mockserver.manifests.checks import SECRET_KEY, Checker, describe, is_dns_label
from mockserver.manifests.errors import raise_if_any
from mockserver.manifests.eso_kinds import build_secret
from mockserver.manifests.paths import child

from .model import (
    CLUSTER_ANNOTATION,
    ESO_API_VERSION,
    GENERATORS_API_VERSION,
    CARef,
    ClientManifests,
    ConfigMap,
    DataEntry,
    DataFromEntry,
    ExternalSecret,
    FederationGenerator,
    FindRef,
    GeneratorRef,
    KeyRef,
    ProviderStore,
    RemoteRef,
    Rewrite,
    ServiceAccount,
    ServiceAccountRef,
    StoreCondition,
    StoreRef,
    Target,
)
from .specparts import parse_conditions, parse_template

DECODING = ("None", "Base64", "Base64URL", "Auto")
CONVERSION = ("Default", "Unicode")
CREATION = ("Owner", "Orphan", "Merge", "None")
"""The enterprise fork's enum: it predates upstream's ``CreateOrMerge`` (and ``nullBytePolicy``)."""
UPSTREAM_ONLY = "an upstream ESO field the External Secrets Enterprise CRD does not have"
DELETION = ("Delete", "Merge", "Retain")
STORE_KINDS = ("SecretStore", "ClusterSecretStore")
FEDERATION_STORE = "FederationStore"

# kind -> (apiVersion, namespaced); FederationStore accepts any apiVersion (see docs/render.md).
KINDS: dict[str, tuple[str | None, bool]] = {
    "SecretStore": (ESO_API_VERSION, True),
    "ClusterSecretStore": (ESO_API_VERSION, False),
    FEDERATION_STORE: (None, True),
    "Federation": (GENERATORS_API_VERSION, True),
    "ExternalSecret": (ESO_API_VERSION, True),
    "Secret": ("v1", True),
    "ConfigMap": ("v1", True),
    "ServiceAccount": ("v1", True),
    "Namespace": ("v1", False),
}
SERVER_SIDE = ("FakeCluster", "KubernetesFederation", "SpiffeFederation", "Authorization")


def _key_ref(c: Checker, obj: dict[str, Any], key: str, path: str) -> KeyRef | None:
    ref = c.mapping(obj, key, path, required=False)
    if ref is None:
        return None
    here = child(path, key)
    c.fields(ref, here, ("name", "key", "namespace"))
    name = c.string(ref, "name", here, required=True, non_empty=True)
    item = c.string(ref, "key", here, required=True, non_empty=True)
    namespace = c.string(ref, "namespace", here)
    if name is None or item is None:
        return None
    return KeyRef(name, item, namespace)


def _ca_ref(c: Checker, obj: dict[str, Any], key: str, path: str) -> CARef | None:
    ref = c.mapping(obj, key, path, required=False)
    if ref is None:
        return None
    here = child(path, key)
    c.fields(ref, here, ("bundle", "secretRef", "configMapRef"))
    bundle = None
    text = c.string(ref, "bundle", here)
    if text is not None:
        try:
            bundle = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            c.fail(child(here, "bundle"), "expected standard base64 of the PEM (a []byte field)")
    return CARef(
        bundle, _key_ref(c, ref, "secretRef", here), _key_ref(c, ref, "configMapRef", here)
    )


def _cluster(c: Checker, data: dict[str, Any]) -> str | None:
    annotations = (data.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(CLUSTER_ANNOTATION) if isinstance(annotations, dict) else None
    if value is not None and not isinstance(value, str):
        c.fail(child("metadata.annotations", CLUSTER_ANNOTATION), "expected a cluster name")
        return None
    return value


def _provider_spec(
    c: Checker,
    spec: dict[str, Any],
    path: str,
    kind: str,
    namespace: str,
    name: str,
    cluster: str | None,
    conditions: tuple[StoreCondition, ...] = (),
) -> ProviderStore | None:
    c.fields(spec, path, ("server", "auth", "target"))
    server = c.mapping(spec, "server", path)
    auth = c.mapping(spec, "auth", path)
    target = c.mapping(spec, "target", path)
    if server is None or auth is None or target is None:
        return None
    server_path, auth_path, target_path = (child(path, k) for k in ("server", "auth", "target"))
    c.fields(server, server_path, ("url", "caRef"))
    url = c.string(server, "url", server_path, required=True, non_empty=True)
    server_ca = _ca_ref(c, server, "caRef", server_path)
    c.fields(auth, auth_path, ("kubernetes",))
    kube = c.mapping(auth, "kubernetes", auth_path)
    c.fields(target, target_path, ("clusterSecretStoreName",))
    target_store = c.string(target, "clusterSecretStoreName", target_path, required=True)
    if kube is None or url is None or target_store is None:
        return None
    kube_path = child(auth_path, "kubernetes")
    c.fields(kube, kube_path, ("serviceAccountRef", "caCertRef"))
    sa = c.mapping(kube, "serviceAccountRef", kube_path)
    client_ca = _ca_ref(c, kube, "caCertRef", kube_path) or CARef()
    if sa is None:
        return None
    sa_path = child(kube_path, "serviceAccountRef")
    c.fields(sa, sa_path, ("name", "namespace", "audiences"))
    sa_name = c.string(sa, "name", sa_path, required=True, non_empty=True)
    sa_namespace = c.string(sa, "namespace", sa_path)
    audiences = c.string_list(sa, "audiences", sa_path) or []
    if sa_name is None:
        return None
    account = ServiceAccountRef(sa_name, sa_namespace, tuple(audiences))
    return ProviderStore(
        kind, namespace, name, url, server_ca, account, client_ca, target_store, cluster, conditions
    )


def _store(
    c: Checker, data: dict[str, Any], kind: str, namespace: str, name: str
) -> ProviderStore | None:
    spec = c.mapping(data, "spec", "")
    if spec is None:
        return None
    cluster = _cluster(c, data)
    if kind == FEDERATION_STORE:
        return _provider_spec(c, spec, "spec", "SecretStore", namespace, name, cluster)
    c.fields(
        spec, "spec", ("controller", "provider", "retrySettings", "refreshInterval", "conditions")
    )
    conditions = parse_conditions(c, spec) if kind == "ClusterSecretStore" else ()
    if kind != "ClusterSecretStore" and spec.get("conditions"):
        c.fail("spec.conditions", "expected no conditions: only a ClusterSecretStore has them")
    provider = c.mapping(spec, "provider", "spec")
    if provider is None:
        return None
    if list(provider) != ["externalsecrets"]:
        got = ", ".join(str(k) for k in provider) or "none"
        c.fail(
            "spec.provider",
            "expected exactly one provider, externalsecrets (the External Secrets Enterprise "
            f"provider render emulates), got {got}",
        )
        return None
    block = c.mapping(provider, "externalsecrets", "spec.provider")
    if block is None:
        return None
    return _provider_spec(
        c, block, "spec.provider.externalsecrets", kind, namespace, name, cluster, conditions
    )


def _generator(
    c: Checker, data: dict[str, Any], namespace: str, name: str
) -> FederationGenerator | None:
    spec = c.mapping(data, "spec", "")
    if spec is None:
        return None
    c.fields(spec, "spec", ("server", "generator", "auth"))
    server = c.mapping(spec, "server", "spec")
    target = c.mapping(spec, "generator", "spec")
    auth = c.mapping(spec, "auth", "spec", required=False) or {}
    if server is None or target is None:
        return None
    c.fields(server, "spec.server", ("url",))
    url = c.string(server, "url", "spec.server", required=True, non_empty=True)
    c.fields(target, "spec.generator", ("namespace", "kind", "name"))
    values = [
        c.string(target, k, "spec.generator", required=True) for k in ("namespace", "kind", "name")
    ]
    c.fields(auth, "spec.auth", ("tokenSecretRef", "caCertSecretRef"))
    token = _key_ref(c, auth, "tokenSecretRef", "spec.auth")
    ca = _key_ref(c, auth, "caCertSecretRef", "spec.auth")
    if url is None or None in values:
        return None
    ns, kind, target_name = (v or "" for v in values)
    return FederationGenerator(
        namespace, name, url, ns, kind, target_name, token, ca, _cluster(c, data)
    )


def _upstream_only(c: Checker, obj: dict[str, Any], path: str, key: str) -> None:
    if key in obj:
        c.fail(child(path, key), f"unknown field: {key} is {UPSTREAM_ONLY}; remove it")


def _remote_ref(c: Checker, ref: dict[str, Any], path: str) -> RemoteRef | None:
    _upstream_only(c, ref, path, "nullBytePolicy")
    c.fields(
        ref,
        path,
        (
            "key",
            "property",
            "version",
            "decodingStrategy",
            "conversionStrategy",
            "metadataPolicy",
            "nullBytePolicy",
        ),
    )
    key = c.string(ref, "key", path, required=True)
    prop = c.string(ref, "property", path) or ""
    version = c.string(ref, "version", path) or ""
    decoding = c.choice(ref, "decodingStrategy", path, DECODING) or "None"
    conversion = c.choice(ref, "conversionStrategy", path, CONVERSION) or "Default"
    c.choice(ref, "metadataPolicy", path, ("None", "Fetch"))
    if key is None:
        return None
    return RemoteRef(key, prop, version, decoding, conversion)


def _store_ref(c: Checker, obj: dict[str, Any], key: str, path: str) -> StoreRef | None:
    ref = c.mapping(obj, key, path, required=False)
    if ref is None:
        return None
    here = child(path, key)
    c.fields(ref, here, ("name", "kind"))
    name = c.string(ref, "name", here, required=True, non_empty=True)
    kind = c.choice(ref, "kind", here, (*STORE_KINDS, FEDERATION_STORE)) or "SecretStore"
    if name is None:
        return None
    return StoreRef(name, "SecretStore" if kind == FEDERATION_STORE else kind)


def _rewrites(c: Checker, item: dict[str, Any], path: str) -> tuple[Rewrite, ...]:
    out: list[Rewrite] = []
    for i, step in enumerate(c.listing(item, "rewrite", path) or []):
        here = child(child(path, "rewrite"), i)
        if not isinstance(step, dict) or len(step) != 1:
            c.fail(here, "expected exactly one of regexp, transform, merge")
            continue
        kind = next(iter(step))
        if kind not in ("regexp", "transform", "merge"):
            c.fail(here, f"expected exactly one of regexp, transform, merge, got {describe(kind)}")
            continue
        body = c.mapping(step, kind, here)
        if body is None:
            continue
        if kind == "regexp":
            c.fields(body, child(here, kind), ("source", "target"))
            source = c.string(body, "source", child(here, kind), required=True)
            target = c.string(body, "target", child(here, kind), required=True)
            out.append(Rewrite(kind, source or "", target or ""))
        elif kind == "transform":
            c.fields(body, child(here, kind), ("template",))
            template = c.string(body, "template", child(here, kind), required=True)
            out.append(Rewrite(kind, template=template or ""))
        else:
            out.append(Rewrite(kind))
    return tuple(out)


def _data_from(c: Checker, item: dict[str, Any], path: str) -> DataFromEntry | None:
    c.fields(item, path, ("extract", "find", "sourceRef", "rewrite"))
    source = c.mapping(item, "sourceRef", path, required=False)
    generator = None
    store = None
    if source is not None:
        here = child(path, "sourceRef")
        c.fields(source, here, ("storeRef", "generatorRef"))
        store = _store_ref(c, source, "storeRef", here)
        gen = c.mapping(source, "generatorRef", here, required=False)
        if gen is not None:
            gen_path = child(here, "generatorRef")
            c.fields(gen, gen_path, ("apiVersion", "kind", "name"))
            api = c.string(gen, "apiVersion", gen_path) or GENERATORS_API_VERSION
            kind = c.string(gen, "kind", gen_path, required=True)
            name = c.string(gen, "name", gen_path, required=True)
            if kind and name:
                generator = GeneratorRef(api, kind, name)
        if store is None and gen is None:
            c.fail(here, "generatorRef or storeRef must be set when using sourceRef in dataFrom")
    extract = None
    find = None
    if "extract" in item:
        ref = c.mapping(item, "extract", path)
        extract = _remote_ref(c, ref, child(path, "extract")) if ref is not None else None
    if "find" in item:
        ref = c.mapping(item, "find", path)
        if ref is not None:
            here = child(path, "find")
            _upstream_only(c, ref, here, "nullBytePolicy")
            c.fields(
                ref,
                here,
                (
                    "path",
                    "name",
                    "tags",
                    "conversionStrategy",
                    "decodingStrategy",
                    "nullBytePolicy",
                ),
            )
            find = FindRef(
                c.choice(ref, "conversionStrategy", here, CONVERSION) or "Default",
                c.choice(ref, "decodingStrategy", here, DECODING) or "None",
            )
    chosen = ("extract" in item) + ("find" in item) + (generator is not None)
    if chosen == 0:
        c.fail(path, "either extract, find, or sourceRef must be set to dataFrom")
        return None
    if chosen > 1:
        c.fail(path, "extract, find, or generatorRef cannot be set at the same time")
        return None
    return DataFromEntry(extract, find, generator, store, _rewrites(c, item, path))


def _target(c: Checker, spec: dict[str, Any], es_name: str) -> Target:
    target = c.mapping(spec, "target", "spec", required=False) or {}
    c.fields(
        target,
        "spec.target",
        ("name", "creationPolicy", "deletionPolicy", "template", "immutable", "manifest"),
    )
    if "manifest" in target:
        c.fail("spec.target.manifest", "expected no manifest target: render writes Secrets only")
    name = c.string(target, "name", "spec.target") or es_name
    if target.get("creationPolicy") == "CreateOrMerge":
        c.fail(
            "spec.target.creationPolicy",
            f"expected one of {', '.join(CREATION)}: CreateOrMerge is {UPSTREAM_ONLY}",
        )
        creation = "Owner"
    else:
        creation = c.choice(target, "creationPolicy", "spec.target", CREATION) or "Owner"
    deletion = c.choice(target, "deletionPolicy", "spec.target", DELETION) or "Retain"
    immutable = bool(c.boolean(target, "immutable", "spec.target"))
    template = c.mapping(target, "template", "spec.target", required=False)
    if template is None:
        return Target(name, creation, deletion, immutable)
    return Target(
        name, creation, deletion, immutable, parse_template(c, template, "spec.target.template")
    )


def _validate_es(c: Checker, es: ExternalSecret, creation: str, deletion: str) -> None:
    if not es.data and not es.data_from:
        c.fail("spec", "either data or dataFrom should be specified")
    seen: set[str] = set()
    for entry in es.data:
        if entry.secret_key in seen:
            c.fail("spec.data", f"duplicate secretKey found: {entry.secret_key}")
        seen.add(entry.secret_key)
    if deletion == "Delete" and creation != "Owner":
        c.fail(
            "spec.target.deletionPolicy",
            "deletionPolicy=Delete must not be used when the controller doesn't own the secret. "
            "Please set creationPolicy=Owner",
        )
    if deletion == "Merge" and creation == "None":
        c.fail(
            "spec.target.deletionPolicy",
            "deletionPolicy=Merge must not be used with creationPolicy=None. "
            "There is no Secret to merge with",
        )


def _external_secret(
    c: Checker, data: dict[str, Any], namespace: str, name: str, source: str
) -> ExternalSecret | None:
    spec = c.mapping(data, "spec", "")
    if spec is None:
        return None
    c.fields(
        spec,
        "spec",
        (
            "secretStoreRef",
            "target",
            "refreshPolicy",
            "refreshInterval",
            "syncWindows",
            "data",
            "dataFrom",
        ),
    )
    store = _store_ref(c, spec, "secretStoreRef", "spec")
    target = _target(c, spec, name)
    entries: list[DataEntry] = []
    for i, item in enumerate(c.listing(spec, "data", "spec") or []):
        path = child("spec.data", i)
        if not isinstance(item, dict):
            c.fail(path, f"expected a mapping, got {describe(item)}")
            continue
        c.fields(item, path, ("secretKey", "remoteRef", "sourceRef"))
        key = c.string(item, "secretKey", path, required=True)
        if key is not None and (not SECRET_KEY.match(key) or len(key) > 253):
            c.fail(child(path, "secretKey"), "expected letters, digits, '-', '.' and '_'")
            key = None
        remote = c.mapping(item, "remoteRef", path)
        ref = _remote_ref(c, remote, child(path, "remoteRef")) if remote is not None else None
        override = None
        source_ref = c.mapping(item, "sourceRef", path, required=False)
        if source_ref is not None:
            c.fields(source_ref, child(path, "sourceRef"), ("storeRef", "generatorRef"))
            if "generatorRef" in source_ref:
                c.fail(
                    child(path, "sourceRef.generatorRef"),
                    "expected no generatorRef in data[] (deprecated, not implemented by ESO)",
                )
            override = _store_ref(c, source_ref, "storeRef", child(path, "sourceRef"))
        if key is not None and ref is not None:
            entries.append(DataEntry(key, ref, override))
    froms: list[DataFromEntry] = []
    for i, item in enumerate(c.listing(spec, "dataFrom", "spec") or []):
        path = child("spec.dataFrom", i)
        if not isinstance(item, dict):
            c.fail(path, f"expected a mapping, got {describe(item)}")
            continue
        entry = _data_from(c, item, path)
        if entry is not None:
            froms.append(entry)
    meta = data.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    es = ExternalSecret(
        namespace,
        name,
        store,
        target,
        tuple(entries),
        tuple(froms),
        {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        {str(k): str(v) for k, v in annotations.items()} if isinstance(annotations, dict) else {},
        source,
    )
    _validate_es(c, es, target.creation_policy, target.deletion_policy)
    needs_store = bool(entries) or any(f.generator is None and f.store is None for f in froms)
    if store is None and needs_store:
        c.fail("spec.secretStoreRef", "expected a mapping (required: data or extract name a store)")
    return es


def _config_map(c: Checker, data: dict[str, Any], namespace: str, name: str) -> ConfigMap:
    values = c.string_map(data, "data", "") or {}
    return ConfigMap(namespace, name, dict(values))


def _identity(c: Checker, doc: Document) -> tuple[str, str, str] | None:
    data = doc.data
    kind = c.string(data, "kind", "", required=True)
    api_version = c.string(data, "apiVersion", "", required=True)
    if kind is None or api_version is None:
        return None
    if kind in SERVER_SIDE or (kind not in KINDS and api_version == GENERATORS_API_VERSION):
        c.fail(
            "kind",
            f"expected a client-side kind; {kind} belongs to the server's manifests "
            "(esi-mock serve --fixtures)"
            if kind in SERVER_SIDE
            else f"expected kind Federation for a generator (render calls a Federation Server), "
            f"got {describe(kind)}",
        )
        return None
    if kind not in KINDS:
        c.fail("kind", f"expected one of {', '.join(KINDS)}; got {describe(kind)}")
        return None
    expected, namespaced = KINDS[kind]
    if expected is not None and api_version != expected:
        c.fail("apiVersion", f"expected {expected} for kind {kind}, got {describe(api_version)}")
        return None
    meta = c.mapping(data, "metadata", "")
    if meta is None:
        return None
    name = c.string(meta, "name", "metadata", required=True, non_empty=True)
    namespace = meta.get("namespace")
    if namespaced:
        if namespace is None:
            namespace = "default"
        elif not isinstance(namespace, str) or not is_dns_label(namespace):
            c.fail("metadata.namespace", f"expected a DNS-1123 label, got {describe(namespace)}")
            return None
    elif namespace not in (None, ""):
        c.fail("metadata.namespace", f"expected no namespace: {kind} is cluster-scoped")
        return None
    if name is None:
        return None
    return kind, namespace or "", name


def build_client_manifests(documents: Iterable[Document]) -> ClientManifests:
    """Validate every document and index the objects; all problems raise as one error."""
    out = ClientManifests()
    errors: list[ManifestError] = []
    for doc in documents:
        c = Checker(doc)
        found = _identity(c, doc)
        if found is not None:
            _add(c, doc, found, out)
        errors.extend(c.errors)
    raise_if_any(errors)
    return out


def _add(c: Checker, doc: Document, found: tuple[str, str, str], out: ClientManifests) -> None:
    kind, namespace, name = found
    data = doc.data
    if kind in (*STORE_KINDS, FEDERATION_STORE):
        store = _store(c, data, kind, namespace, name)
        key = (store.kind if store else kind, namespace, name)
        if store is not None:
            _unique(c, out.stores, key, store)
    elif kind == "Federation":
        generator = _generator(c, data, namespace, name)
        if generator is not None:
            _unique(c, out.generators, (namespace, name), generator)
    elif kind == "ExternalSecret":
        es = _external_secret(c, data, namespace, name, f"{doc.file} document {doc.index}")
        if es is not None:
            out.external_secrets.append(es)
    elif kind == "Secret":
        secret = build_secret(c, namespace, name, data)
        if secret is not None:
            _unique(c, out.secrets, (namespace, name), secret)
            meta = data.get("metadata") or {}
            labels = c.string_map(meta, "labels", "metadata") or {}
            annotations = c.string_map(meta, "annotations", "metadata") or {}
            out.secret_meta[(namespace, name)] = (dict(labels), dict(annotations))
    elif kind == "ConfigMap":
        _unique(c, out.config_maps, (namespace, name), _config_map(c, data, namespace, name))
    elif kind == "Namespace":
        labels = c.string_map(data.get("metadata") or {}, "labels", "metadata") or {}
        out.namespace_labels[name] = dict(labels)
    elif kind == "ServiceAccount":
        out.service_accounts.append(ServiceAccount(namespace, name, _cluster(c, data)))


def _unique(c: Checker, table: dict[Any, Any], key: Any, value: Any) -> None:
    if key in table:
        c.fail("metadata.name", "expected a unique name; this object is already defined")
        return
    table[key] = value
