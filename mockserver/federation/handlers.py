"""The four handlers (docs/protocol.md §2.5) in the check order of §4.3.

Each takes the request's facts and returns the JSON value of a 200, or raises a ProtocolError.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mockserver.backends import generators as generator_backend
from mockserver.backends.stores import FakeStore, StoreError, store_not_found_message
from mockserver.federation.authn import Identity, KubeAttributes
from mockserver.federation.authz import (
    GeneratorResource,
    GeneratorStatesResource,
    StoreResource,
    authorize,
)
from mockserver.federation.bookkeeping import (
    LABEL_GENERATOR,
    LABEL_KIND,
    LABEL_OWNER,
    credential_key,
    validate_generator_state,
)
from mockserver.federation.context import FederationContext
from mockserver.federation.echobind import bind_delete_request
from mockserver.federation.errors import BadRequest
from mockserver.federation.outcome import Outcome

GENERATORS_API_VERSION = "generators.external-secrets.io/v1alpha1"


@dataclass(frozen=True)
class Call:
    """One authenticated request as the handlers see it."""

    identity: Identity
    workload: KubeAttributes | None
    params: dict[str, str]
    body: bytes
    content_type: str
    outcome: Outcome
    zero_length: bool = False
    """Go's `ContentLength == 0`: no body, or `Content-Length: 0` (a chunked body is -1)."""
    raw_query: str = ""


def _federation_ref(authorization: Any) -> dict[str, str]:
    return {"kind": authorization.federation_ref.kind, "name": authorization.federation_ref.name}


def _workload_binding(workload: KubeAttributes | None) -> dict[str, str] | None:
    if workload is None:
        return None
    if workload.pod_name:
        kind, name, uid = "Pod", workload.pod_name, workload.pod_uid
    else:
        kind, name, uid = "ServiceAccount", workload.sa_name, workload.sa_uid
    return {"kind": kind, "name": name, "uid": uid, "namespace": workload.namespace}


def _grant(ctx: FederationContext, call: Call, resource: Any) -> Any:
    authorization = authorize(ctx.registry.authorizations(), call.identity, resource)
    call.outcome.authorization = authorization.name
    return authorization


# -- R1 ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    """An AuthorizedIdentity credential entry to record for a granted request (§4.5)."""

    method: str
    provider: str
    subject: str
    federation_ref: dict[str, str]
    credential: dict[str, Any]
    key: str
    """What makes two entries the same (`credential_key`), computed once."""


@dataclass(frozen=True)
class SecretRead:
    """What R1 decided before answering: the store read, the value, the credential to record."""

    store: str
    authorization: str
    value: str
    issued: Issued


def read_secret(ctx: FederationContext, call: Call) -> SecretRead:
    """R1 up to the answer: authorization (404) → backend (400) → the value and what to record;
    the app then `issue`s the credential and answers the value as a JSON string."""
    store_name, key = call.params["secretStoreName"], call.params["secretName"]
    authorization = _grant(ctx, call, StoreResource(store_name))
    ctx.bookkeeping.check_store_read(store_name)
    store = ctx.registry.model.cluster_secret_stores.get(store_name)
    if store is None:
        raise BadRequest(store_not_found_message(store_name))
    try:
        value = _fake_store(store).get_secret(key)
    except StoreError as exc:
        raise BadRequest(str(exc)) from exc
    credential: dict[str, Any] = {
        "sourceRef": {
            "kind": "ClusterSecretStore",
            "apiVersion": "external-secrets.io/v1",
            "name": store_name,
        },
        "remoteRef": {"remoteKey": key, "property": ""},
    }
    binding = _workload_binding(call.workload)
    if binding is not None:
        credential["workloadBinding"] = binding
    return SecretRead(
        store_name, authorization.name, value, _issued(call, authorization, credential)
    )


def issue(ctx: FederationContext, issued: Issued) -> None:
    """Record the credential a granted request was issued (the AuthorizedIdentity upsert)."""
    ctx.bookkeeping.upsert_identity(
        issued.method,
        issued.provider,
        issued.subject,
        issued.federation_ref,
        issued.credential,
        key=issued.key,
    )


def _issued(call: Call, authorization: Any, credential: dict[str, Any]) -> Issued:
    identity = call.identity
    return Issued(
        identity.method,
        identity.provider,
        identity.subject,
        _federation_ref(authorization),
        credential,
        credential_key(credential),
    )


@functools.lru_cache(maxsize=64)
def _fake_store(store: Any) -> FakeStore:
    """The provider client of one loaded ClusterSecretStore (rebuilt when the object changes)."""
    return FakeStore(store.name, [(e.key, e.value, e.version) for e in store.data])


def _record_identity(
    ctx: FederationContext, call: Call, authorization: Any, credential: dict[str, Any]
) -> None:
    identity = call.identity
    ctx.bookkeeping.upsert_identity(
        identity.method,
        identity.provider,
        identity.subject,
        _federation_ref(authorization),
        credential,
    )


# -- R2 ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """Who owns a GeneratorState: its owner label and the attributes recorded with it."""

    name: str
    attributes: dict[str, str]


def _owner(call: Call) -> Owner:
    workload = call.workload
    identity = call.identity
    if workload is None:
        return Owner(
            identity.subject,
            {"issuer": identity.provider, "subject": identity.subject, "method": identity.method},
        )
    attributes = {
        "namespace": workload.namespace,
        "issuer": identity.provider,
        "serviceaccount-uid": workload.sa_uid,
        "service-account-name": workload.sa_name,
    }
    if workload.pod_uid:
        attributes["pod-uid"] = workload.pod_uid
    return Owner(workload.pod_name or workload.sa_name, attributes)


def _resolve_generator(
    ctx: FederationContext, namespace: str, kind: str, name: str
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The generator to run: (kind, spec, manifest for GeneratorState.spec.resource)."""
    model = ctx.registry.model
    if kind == "ClusterGenerator":
        cluster_generator = model.cluster_generators.get(name)
        if cluster_generator is None:
            raise BadRequest(generator_backend.generator_not_found_message(kind, name))
        # The model keeps the inner `<kind>Spec`; the resolver wants `spec.generator` whole.
        member = generator_backend.CLUSTER_SPEC_FIELDS.get(cluster_generator.kind, ("",))[0]
        wrapped = {member: cluster_generator.spec} if member else {}
        manifest = {
            "apiVersion": GENERATORS_API_VERSION,
            "kind": "ClusterGenerator",
            "metadata": {"name": name},
            "spec": {"kind": cluster_generator.kind, "generator": wrapped},
        }
        try:
            inner_kind, spec = generator_backend.resolve_cluster_generator(
                cluster_generator.kind, wrapped
            )
        except generator_backend.GeneratorError as exc:
            raise BadRequest(str(exc)) from exc
        if inner_kind not in generator_backend.SUPPORTED_KINDS:
            raise BadRequest(str(generator_backend.UnknownGeneratorKind(inner_kind)))
        return inner_kind, spec, manifest
    try:
        generator_backend.resolve_kind(kind)
    except generator_backend.GeneratorError as exc:
        raise BadRequest(str(exc)) from exc
    generator = model.generators.get((namespace, kind, name))
    if generator is None:
        raise BadRequest(generator_backend.generator_not_found_message(kind, name))
    generator_spec: dict[str, Any] | None = getattr(generator, "spec", None)
    if generator_spec is None or kind not in generator_backend.SUPPORTED_KINDS:
        raise BadRequest(str(generator_backend.UnknownGeneratorKind(kind)))
    spec = generator_spec
    manifest = {
        "apiVersion": GENERATORS_API_VERSION,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    return kind, spec, manifest


def _owner_reference(ctx: FederationContext, call: Call) -> dict[str, Any] | None:
    """Find the owner Pod or ServiceAccount (only for Kubernetes workloads), or 400."""
    workload = call.workload
    if workload is None:
        return None
    if ctx.behaviour.enabled("home-cluster-owner"):
        cluster = ctx.clusters.get(ctx.home_cluster) if ctx.home_cluster else None
        clusters = [cluster] if cluster is not None else []
    elif call.identity.method == "oidc":
        cluster = ctx.cluster_for_issuer(call.identity.provider)
        clusters = [cluster] if cluster is not None else []
    else:
        clusters = list(ctx.clusters.values())
    if workload.pod_uid:
        kind, name = "Pod", workload.pod_name
        candidates = (c.pod(workload.namespace, name) for c in clusters)
    else:
        kind, name = "ServiceAccount", workload.sa_name
        candidates = (c.service_account(workload.namespace, name) for c in clusters)
    found = next((obj for obj in candidates if obj is not None), None)
    if found is None:
        # The real server reads through controller-runtime's cache, whose not-found errors name
        # the Kind ("Pod", not "pods").
        raise BadRequest(f'{kind} "{name}" not found')
    return {"apiVersion": "v1", "kind": kind, "name": found.name, "uid": found.uid}


def _secret_lookup(ctx: FederationContext) -> Callable[[str, str, str], bytes]:
    def lookup(namespace: str, name: str, key: str) -> bytes:
        secret = ctx.registry.model.secrets.get((namespace, name))
        if secret is None:
            raise LookupError(name)
        return secret.data[key]  # KeyError: the key is missing

    return lookup


def _run_generator(
    ctx: FederationContext, kind: str, spec: dict[str, Any], namespace: str
) -> dict[str, str]:
    try:
        return generator_backend.generate(
            kind, spec, secret_lookup=_secret_lookup(ctx), namespace=namespace, clock=ctx.clock
        )
    except generator_backend.GeneratorError as exc:
        raise BadRequest(str(exc)) from exc


def generate(ctx: FederationContext, call: Call) -> dict[str, str]:
    """R2: workload (400) → authorization (404) → generator (400) → 200 object of strings.

    Default: every check that can fail runs before the generator, so a failed request leaves no
    credential behind; the quirk `generate-then-fail` generates first, as the real server does.
    """
    namespace = call.params["generatorNamespace"]
    kind, name = call.params["generatorKind"], call.params["generatorName"]
    owner = _owner(call)
    authorization = _grant(ctx, call, GeneratorResource(namespace, kind, name))
    run_kind, spec, manifest = _resolve_generator(ctx, namespace, kind, name)
    leaky = ctx.behaviour.enabled("generate-then-fail")
    output = _run_generator(ctx, run_kind, spec, namespace) if leaky else None
    try:
        owner_reference = _owner_reference(ctx, call)
        validate_generator_state(kind, name, owner.name)
    except BadRequest:
        if output is not None:
            ctx.bookkeeping.record_leak(namespace, kind, name, list(output))
        raise
    if output is None:
        output = _run_generator(ctx, run_kind, spec, namespace)
    state = ctx.bookkeeping.create_generator_state(
        namespace, kind, name, owner.name, owner.attributes, manifest, owner_reference
    )
    call.outcome.generator_state = f"{namespace}/{state['metadata']['name']}"
    credential: dict[str, Any] = {
        "sourceRef": {
            "kind": kind,
            "apiVersion": GENERATORS_API_VERSION,
            "name": name,
            "namespace": namespace,
        },
        "stateRef": {
            "kind": "GeneratorState",
            "apiVersion": GENERATORS_API_VERSION,
            "name": state["metadata"]["name"],
            "namespace": namespace,
        },
    }
    binding = _workload_binding(call.workload)
    if binding is not None:
        credential["workloadBinding"] = binding
    _record_identity(ctx, call, authorization, credential)
    return output


# -- R3 ------------------------------------------------------------------------------------------


def revoke_self(ctx: FederationContext, call: Call) -> None:
    """R3: workload (400) → authorization (404) → delete the caller's own states → `null`."""
    if call.workload is None:
        raise BadRequest("missing workload context")
    namespace = call.params["generatorNamespace"]
    kind, name = call.params["generatorKind"], call.params["generatorName"]
    _grant(ctx, call, GeneratorResource(namespace, kind, name))
    owner = call.workload.pod_name or call.workload.sa_name
    deleted = ctx.bookkeeping.delete_generator_states(
        namespace, {LABEL_OWNER: owner, LABEL_GENERATOR: name, LABEL_KIND: kind}
    )
    call.outcome.deleted = deleted
    return None


# -- R4 ------------------------------------------------------------------------------------------


def revoke_of(ctx: FederationContext, call: Call) -> str:
    """R4: bind (400) → authorization on the URL namespace (404) → delete → the fixed string.

    Default: an empty body namespace means the URL namespace and a different one is refused;
    the quirk `revoke-body-namespace` deletes in the body's namespace, all of them when empty.
    """
    url_namespace = call.params["generatorNamespace"]
    owner, body_namespace = bind_delete_request(
        call.body, call.content_type, call.zero_length, call.raw_query
    )
    _grant(ctx, call, GeneratorStatesResource(url_namespace))
    namespace: str | None
    if ctx.behaviour.enabled("revoke-body-namespace"):
        namespace = body_namespace or None
    elif body_namespace and body_namespace != url_namespace:
        raise BadRequest(
            f"namespace {body_namespace!r} in the body differs from the authorized namespace "
            f"{url_namespace!r} of the URL"
        )
    else:
        namespace = url_namespace
    call.outcome.deleted = ctx.bookkeeping.delete_generator_states(namespace, {LABEL_OWNER: owner})
    return "GeneratorState deleted"
