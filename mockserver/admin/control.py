"""Every admin operation on a running mock, as plain Python methods.

The HTTP admin API (`api.py`), the pytest plugin and the embedded conformance target all call
these, so they can never disagree. Bad input raises `AdminError` with the HTTP status the API
answers with. The control works on the parts `runtime` hands it (`MockParts`), never on the
server object itself.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from mockserver.admin.faults import FaultError
from mockserver.admin.idps import IdPAdmin, IdPAdminError
from mockserver.admin.journal import JournalQuery, QueryError
from mockserver.admin.parts import MockParts, Running
from mockserver.cluster import FakeCluster
from mockserver.federation.context import FederationContext
from mockserver.federation.modes import QUIRKS, UnknownQuirk
from mockserver.keys import SigningKey
from mockserver.manifests import ManifestError, build_model, parse_documents, substitute
from mockserver.manifests.documents import Document
from mockserver.tokens import BROKEN_KINDS, TokenRequestError

ROTATE_STEPS = ("add", "sign", "retire", "full")
RUNTIME_REFUSED_KINDS = ("FakeCluster",)


class AdminError(Exception):
    """A refused admin call: `status` is the HTTP status, the message says what to fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class MockThreadError(AssertionError):
    """Raised in the test by `check_errors()` when a mock thread failed while serving it."""


def model_secrets(model: Any) -> Iterable[str]:
    """Secret values a manifest set holds: store data, Secret data, Fake generator data."""
    for store in model.cluster_secret_stores.values():
        for entry in store.data:
            yield entry.value
    for secret in model.secrets.values():
        for value in secret.data.values():
            yield value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    for generator in model.generators.values():
        data = (getattr(generator, "spec", None) or {}).get("data")
        if isinstance(data, dict):
            yield from (str(v) for v in data.values())


def _object_ref(data: dict[str, Any]) -> dict[str, Any]:
    found = data.get("metadata")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    ref = {"kind": data.get("kind"), "name": meta.get("name")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref


class MockControl:
    """Admin operations on one mock (journal, faults, state, manifests, quirks, clock, keys,
    tokens, reset)."""

    def __init__(self, parts: MockParts) -> None:
        self.parts = parts
        self.idp_admin: IdPAdmin | None = None
        """The fake identity providers' tokens, keys and faults (set by the runtime)."""

    @property
    def _running(self) -> Running:
        if self.parts.running is None:
            raise AdminError(503, "the mock is not running")
        return self.parts.running

    @property
    def _ctx(self) -> FederationContext:
        return self._running.context

    @property
    def redacted(self) -> bool:
        """Whether secrets are fingerprinted in the journal, logs and state views."""
        return self.parts.redactor.enabled

    def cluster_names(self) -> list[str]:
        """The fake clusters, in fixture order (the first is the default one)."""
        return list(self._running.clusters)

    # -- URLs ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The plain-HTTP federation URL."""
        return self._running.federation_url

    def connection(self) -> dict[str, Any]:
        return self.parts.connection()

    def ca_crt(self, cluster: str | None = None) -> str:
        """The `ca.crt` value a Kubernetes-token client sends: standard padded base64 of the
        cluster's CA PEM (the first cluster by default), for `json={"ca.crt": mock.ca_crt()}`."""
        fake = self._cluster(cluster or next(iter(self._running.clusters)))
        return base64.b64encode(fake.ca.cert_pem).decode()

    def ca_body(self, cluster: str | None = None, **extra: Any) -> bytes:
        """The whole JSON body as bytes: `{"ca.crt": ca_crt(cluster), **extra}`.

        Deprecated: kept working as documented; new code passes `ca_crt()` to its client
        (`json={"ca.crt": mock.ca_crt()}`), which is what a client builds itself.
        """
        return json.dumps({"ca.crt": self.ca_crt(cluster), **extra}).encode()

    # -- journal ---------------------------------------------------------------------------------

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """Entries, oldest first; filters: route, status, identity, listener, method,
        path_prefix, since, until, near_miss, limit."""
        try:
            query = JournalQuery.from_params(filters)
        except QueryError as exc:
            raise AdminError(400, str(exc)) from None
        return self.parts.journal.entries(query)

    def journal_entry(self, entry_id: int) -> dict[str, Any]:
        entry = self.parts.journal.get(entry_id)
        if entry is None:
            raise AdminError(404, f"no journal entry {entry_id} (cleared, or pushed out)")
        return entry

    def journal_summary(self) -> dict[str, int]:
        return self.parts.journal.summary()

    def clear_journal(self) -> int:
        return self.parts.journal.clear()

    # -- faults ----------------------------------------------------------------------------------

    def add_fault(self, spec: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Add a federation-listener, TLS or backend fault (see docs/admin-api.md); returns it
        with its id."""
        try:
            return self.parts.faults.add({**(spec or {}), **fields}).describe()
        except FaultError as exc:
            raise AdminError(400, str(exc)) from None

    def faults(self) -> list[dict[str, Any]]:
        return self.parts.faults.rules()

    def remove_fault(self, rule_id: int) -> None:
        if not self.parts.faults.remove(rule_id):
            raise AdminError(404, f"no fault {rule_id}")

    def clear_faults(self) -> int:
        return self.parts.faults.clear()

    def add_backend_fault(
        self,
        backend: str,
        *,
        store: str | None = None,
        generator: str | None = None,
        count: int | None = 1,
    ) -> dict[str, Any]:
        """Fail the next `count` (None: every) GeneratorState writes of `generator`
        (`namespace/kind/name`) or reads of `store`, as a broken backend would."""
        spec: dict[str, Any] = {"backend": backend, "count": count}
        if store is not None:
            spec["store"] = store
        if generator is not None:
            spec["generator"] = generator
        return self.add_fault(spec)

    def add_cluster_fault(self, spec: dict[str, Any] | None = None, **fields: Any) -> dict:
        """Break a fake cluster's discovery/JWKS side (see docs/admin-api.md)."""
        try:
            rule = self.parts.cluster_faults.add({**(spec or {}), **fields})
        except FaultError as exc:
            raise AdminError(400, str(exc)) from None
        self._ctx.resolver.clear()  # the next request fetches again and meets the fault
        return rule.describe()

    def cluster_faults(self) -> list[dict[str, Any]]:
        return self.parts.cluster_faults.rules()

    def remove_cluster_fault(self, rule_id: int) -> None:
        if not self.parts.cluster_faults.remove(rule_id):
            raise AdminError(404, f"no cluster fault {rule_id}")
        self._ctx.resolver.clear()

    def clear_cluster_faults(self) -> int:
        count = self.parts.cluster_faults.clear()
        self._ctx.resolver.clear()
        return count

    # -- state -----------------------------------------------------------------------------------

    def generator_states(self, namespace: str | None = None) -> list[dict[str, Any]]:
        return self._scrubbed(self._ctx.bookkeeping.generator_states(namespace))

    def authorized_identities(self) -> list[dict[str, Any]]:
        return self._scrubbed(self._ctx.bookkeeping.authorized_identities())

    def leaked_credentials(self) -> list[dict[str, Any]]:
        """Credentials generated by requests that then failed (quirk generate-then-fail)."""
        return self._scrubbed(self._ctx.bookkeeping.leaked_credentials)

    def clusters(self) -> dict[str, Any]:
        """Clusters with their keys (public parts), service accounts and pods."""
        described = {}
        for name, cluster in self._running.clusters.items():
            signing = cluster.signing_key.kid
            described[name] = {
                "issuer": cluster.issuer,
                "url": cluster.url,
                "jwks_uri": cluster.jwks_uri,
                "ca_fingerprint": "sha256:" + cluster.ca.fingerprint[:8],
                "signing_kid": signing,
                "keys": [
                    {"kid": k.kid, "alg": k.alg, "kty": k.key_type, "signing": k.kid == signing}
                    for k in cluster.keys
                ],
                "service_accounts": [
                    {"namespace": s.namespace, "name": s.name, "uid": s.uid}
                    for s in cluster.service_accounts
                ],
                "pods": [
                    {
                        "namespace": p.namespace,
                        "name": p.name,
                        "uid": p.uid,
                        "service_account": p.service_account,
                        "node": p.node,
                    }
                    for p in cluster.pods
                ],
                "request_counts": cluster.request_counts,
            }
        return described

    def state(self) -> dict[str, Any]:
        return {
            "generator_states": self.generator_states(),
            "authorized_identities": self.authorized_identities(),
            "leaked_credentials": self.leaked_credentials(),
            "clusters": self.clusters(),
            "behaviour": self.parts.behaviour.describe(),
            "clock": self.clock(),
        }

    def _scrubbed(self, value: Any) -> Any:
        return self.parts.redactor.scrub_value(value)

    # -- manifests -------------------------------------------------------------------------------

    def manifests(self) -> dict[str, Any]:
        """What is loaded now, by kind: names only (values stay out of views)."""
        model = self._ctx.registry.model
        return {
            "Authorization": [a.name for a in model.authorizations],
            "KubernetesFederation": sorted(model.kubernetes_federations),
            "SpiffeFederation": sorted(model.spiffe_federations),
            "ClusterSecretStore": sorted(model.cluster_secret_stores),
            "ClusterGenerator": sorted(model.cluster_generators),
            "generators": [f"{ns}/{kind}/{name}" for ns, kind, name in sorted(model.generators)],
            "Secret": [f"{ns}/{name}" for ns, name in sorted(model.secrets)],
        }

    def apply_manifests(self, manifests: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Apply YAML text (or a list of documents) on top of what is loaded; effective for the
        next request. Returns the objects applied."""
        if isinstance(manifests, list):
            if not all(isinstance(d, dict) for d in manifests):
                raise AdminError(400, "documents must be a list of manifest objects")
        try:
            documents = (
                [Document("<admin API>", i, dict(d)) for i, d in enumerate(manifests, start=1)]
                if isinstance(manifests, list)
                else parse_documents(manifests, "<admin API>")
            )
            refused = [d for d in documents if d.kind in RUNTIME_REFUSED_KINDS]
            if refused:
                raise AdminError(
                    400,
                    f"document {refused[0].index}: a {refused[0].kind} cannot be applied at run "
                    "time; start the mock with it in the fixtures",
                )
            if not documents:
                raise AdminError(400, "no manifest documents in the request")
            model = build_model(substitute(documents, dict(self._running.variables)))
        except ManifestError as exc:
            raise AdminError(400, str(exc)) from None
        self.parts.redactor.add_many(model_secrets(model), "store value")
        registry = self._ctx.registry
        registry.replace(registry.model.merged(model))
        return [_object_ref(d.data) for d in documents]

    def reset_manifests(self) -> None:
        """Back to the manifests loaded at start (books, faults and quirks stay as they are)."""
        self._ctx.registry.reset()

    def delete_manifest(self, kind: str, name: str, namespace: str | None = None) -> None:
        """Remove one object; an Authorization stops authorizing on the next request (unless
        the quirk sticky-authorizations is on)."""
        if not isinstance(kind, str) or not isinstance(name, str):
            raise AdminError(400, "kind and name are required strings")
        if kind in RUNTIME_REFUSED_KINDS:
            raise AdminError(400, f"a {kind} cannot be deleted at run time")
        registry = self._ctx.registry
        try:
            registry.replace(registry.model.without(kind, name, namespace))
        except KeyError:
            where = f" in namespace {namespace!r}" if namespace else ""
            raise AdminError(404, f"no {kind} {name!r}{where} is loaded") from None

    # -- quirks and clock ------------------------------------------------------------------------

    def quirks(self) -> dict[str, Any]:
        return {
            **self.parts.behaviour.describe(),
            "available": {q.name: q.summary for q in QUIRKS.values()},
        }

    def enable_quirk(self, name: str) -> dict[str, Any]:
        try:
            self.parts.behaviour.enable(name)
        except UnknownQuirk as exc:
            raise AdminError(400, str(exc)) from None
        return self.parts.behaviour.describe()

    def disable_quirk(self, name: str) -> dict[str, Any]:
        try:
            self.parts.behaviour.disable(name)
        except UnknownQuirk as exc:
            raise AdminError(400, str(exc)) from None
        return self.parts.behaviour.describe()

    def set_quirks(self, quirks: list[str], strict: bool | None = None) -> dict[str, Any]:
        if not isinstance(quirks, list) or not all(isinstance(q, str) for q in quirks):
            raise AdminError(400, "quirks must be a list of quirk names")
        if strict is not None and not isinstance(strict, bool):
            raise AdminError(400, "strict must be true or false")
        try:
            self.parts.behaviour.set(quirks, strict)
        except UnknownQuirk as exc:
            raise AdminError(400, str(exc)) from None
        return self.parts.behaviour.describe()

    def clock(self) -> dict[str, float]:
        clock = self.parts.clock
        return {"now": clock.now(), "offset": clock.offset}

    def shift_clock(self, seconds: float) -> dict[str, float]:
        """Move the mock's clock; requests waiting on a clock delay wake and look again."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise AdminError(400, f"seconds must be a number, got {seconds!r}")
        self.parts.clock.shift(seconds)
        self.parts.gate.notify()
        return self.clock()

    def set_clock_offset(self, offset: float) -> dict[str, float]:
        if isinstance(offset, bool) or not isinstance(offset, int | float):
            raise AdminError(400, f"offset must be a number, got {offset!r}")
        self.parts.clock.set_offset(offset)
        self.parts.gate.notify()
        return self.clock()

    # -- keys and tokens -------------------------------------------------------------------------

    def _cluster(self, name: Any) -> FakeCluster:
        clusters = self._running.clusters
        cluster = clusters.get(name) if isinstance(name, str) else None
        if cluster is None:
            known = ", ".join(clusters)
            raise AdminError(404, f"no cluster {name!r}; clusters: {known}")
        return cluster

    def rotate_keys(
        self, cluster: str, step: str = "full", kid: str | None = None, key_type: str = "rsa"
    ) -> dict[str, Any]:
        """Rotate a cluster's keys: `add` publishes a new key, `sign` signs with `kid`,
        `retire` unpublishes `kid`, `full` adds a key and signs with it at once."""
        fake = self._cluster(cluster)
        if step not in ROTATE_STEPS:
            raise AdminError(400, f"step must be one of {', '.join(ROTATE_STEPS)}, got {step!r}")
        if key_type not in ("rsa", "ec"):
            raise AdminError(400, f"key_type must be rsa or ec, got {key_type!r}")
        try:
            if step in ("add", "full"):
                key = fake.rotate_add_key(key_type)
                self.parts.redactor.add(key.private_pem(), "private key")
                kid = key.kid
                if step == "full":
                    fake.rotate_sign_with(kid)
            elif not isinstance(kid, str):
                raise AdminError(400, f"step {step} needs the kid of a published key")
            elif step == "sign":
                fake.rotate_sign_with(kid)
            else:
                fake.rotate_retire(kid)
        except (KeyError, ValueError) as exc:
            raise AdminError(400, str(exc).strip("'\"")) from None
        self.save_cluster_secrets(cluster)  # so `esi-mock token` signs with the new key
        return {"kid": kid, **self.clusters()[cluster]}

    def mint_token(
        self,
        cluster: str,
        sa: str,
        audiences: list[str] | None = None,
        duration: int = 3600,
        pod: str | None = None,
        node: str | None = None,
        legacy: bool = False,
        broken: str | None = None,
    ) -> str:
        """A token from a fake cluster (normal, legacy or one of the broken kinds)."""
        fake = self._cluster(cluster)
        if not isinstance(sa, str):
            raise AdminError(400, "sa must be 'namespace/name'")
        if broken is not None and broken not in BROKEN_KINDS:
            raise AdminError(400, f"broken must be one of {', '.join(sorted(BROKEN_KINDS))}")
        if audiences is not None and not (
            isinstance(audiences, list) and all(isinstance(a, str) for a in audiences)
        ):
            raise AdminError(400, "audiences must be a list of strings")
        if isinstance(duration, bool) or not isinstance(duration, int):
            raise AdminError(400, f"duration must be a whole number of seconds, got {duration!r}")
        try:
            token = fake.mint(
                sa,
                audiences=audiences,
                duration=duration,
                pod=pod,
                node=node,
                legacy=bool(legacy),
                broken=broken,
            )
        except TokenRequestError as exc:
            raise AdminError(400, str(exc)) from None
        except (KeyError, ValueError) as exc:
            raise AdminError(400, str(exc).strip("'\"")) from None
        self.parts.redactor.add(token, "token", pinned=False)
        return token

    # -- fake identity providers (mockserver/admin/idps.py) --------------------------------------

    def _idps(self) -> IdPAdmin:
        if self.idp_admin is None:
            raise AdminError(409, "this mock runs no fake identity providers")
        return self.idp_admin

    def idp_token(self, idp: str, **options: Any) -> str:
        """An Okta or PingOne token: `subject`, `client_id`, `scopes`, `audience`, `duration`,
        `server` (authorization server or environment), `broken`."""
        try:
            token = self._idps().mint(idp, **options)
        except IdPAdminError as exc:
            raise AdminError(400, str(exc)) from None
        self.parts.redactor.add(token, "token", pinned=False)
        return token

    def rotate_idp_keys(self, idp: str, **options: Any) -> dict[str, Any]:
        try:
            return self._idps().rotate(idp, **options)
        except IdPAdminError as exc:
            raise AdminError(400, str(exc)) from None

    def add_idp_fault(self, spec: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        try:
            return self._idps().add_fault({**(spec or {}), **fields})
        except FaultError as exc:
            raise AdminError(400, str(exc)) from None

    def idp_faults(self) -> list[dict[str, Any]]:
        return self._idps().faults()

    def clear_idp_faults(self) -> int:
        return self._idps().clear_faults()

    # -- reset and errors ------------------------------------------------------------------------

    def save_cluster_secrets(self, name: str) -> None:
        """Keep a cluster's current keys in the state folder (after a rotation)."""
        self._cluster(name).save_secrets(self.parts.state.cluster_dir(name))

    def reset(self) -> None:
        """Back to the loaded fixtures: manifests, books, caches, journal, faults, quirks, clock
        offset and keys as they were at start."""
        parts = self.parts
        running = parts.running
        if running is not None:
            running.context.reset()
        parts.behaviour.set(list(parts.initial.quirks), parts.initial.strict)
        parts.journal.clear()
        parts.faults.clear()
        parts.cluster_faults.clear()
        if self.idp_admin is not None:
            self.idp_admin.reset()
        if running is not None:
            for name, (keys, kid) in running.initial_keys.items():
                self._restore_keys(running.clusters[name], keys, kid)
        parts.clock.set_offset(parts.initial.clock_offset)
        parts.gate.notify()
        parts.errors.take()

    def _restore_keys(self, cluster: FakeCluster, keys: list[SigningKey], kid: str) -> None:
        current = cluster.keys
        for key in keys:
            cluster.rotate_add_key(key=key)
        cluster.rotate_sign_with(kid)
        for key in current:
            if all(k.kid != key.kid for k in keys):
                cluster.rotate_retire(key.kid)
        if cluster.keys != current:
            self.save_cluster_secrets(cluster.name)

    def report_error(self, error: BaseException, where: str) -> None:
        """Record a failure inside a mock thread (what `check_errors` raises)."""
        self.parts.errors.report(error, where)

    def errors(self) -> list[str]:
        return self.parts.errors.all()

    def take_errors(self) -> list[str]:
        return self.parts.errors.take()

    def check_errors(self) -> None:
        """Raise `MockThreadError` for failures inside the mock's threads since the last check."""
        failures = self.parts.errors.take()
        if failures:
            raise MockThreadError("the mock failed while serving:\n" + "\n".join(failures))
