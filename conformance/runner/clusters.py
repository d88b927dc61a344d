"""The harness side of the fake clusters: minting, upstream journals, faults and key rotation.

Whoever started the clusters (the embedded mock, or `BundleClusters` for a vendor target), the
runner drives them through this one wrapper, so a scenario's `keys.rotate`, `cluster.fault` and
`upstream` checks work the same against every target.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import flask
from werkzeug.wrappers import Response

from conformance.scenarios import KubeIdentity
from mockserver.cluster import FakeCluster
from mockserver.tokens import mint_token


class SetupError(RuntimeError):
    """A set-up action could not be carried out: the run reports ERROR, never FAIL."""


@dataclass
class _Rotation:
    cluster: str
    old_kid: str
    new_kid: str
    keys: list[Any] = field(default_factory=list)  # the published keys before, in JWKS order


@dataclass
class _ClusterState:
    journal: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, str] = field(default_factory=dict)  # endpoint -> fault


class ClusterSet:
    """Fake clusters by name, with a recording fault hook installed on each one."""

    def __init__(self, clusters: Mapping[str, FakeCluster]) -> None:
        self.clusters = dict(clusters)
        self._lock = threading.Lock()
        self._state = {name: _ClusterState() for name in self.clusters}
        self._rotations: list[_Rotation] = []
        self._unwatch = [cluster.watch(self._hook(name)) for name, cluster in self.clusters.items()]

    def __getitem__(self, name: str) -> FakeCluster:
        try:
            return self.clusters[name]
        except KeyError:
            raise SetupError(f"no fake cluster named {name!r}") from None

    def detach(self) -> None:
        """Remove the hooks (the clusters outlive this set, e.g. inside the embedded mock)."""
        for unwatch in self._unwatch:
            unwatch()
        self._unwatch = []

    # -- tokens ----------------------------------------------------------------------------------

    def pem_of(self, name: str) -> bytes:
        return self[name].ca.cert_pem

    def mint(self, identity: KubeIdentity) -> str:
        """A fresh token for the identity (its `token` variant; `signed_by` forges the key)."""
        cluster = self[identity.cluster]
        try:
            if identity.signed_by is not None:
                return self._forged(cluster, self[identity.signed_by], identity)
            if identity.token == "legacy":
                return cluster.mint(identity.service_account, legacy=True)
            return cluster.mint(
                identity.service_account, pod=identity.pod, broken=identity.broken_kind
            )
        except ValueError as exc:  # TokenRequestError and unknown broken kinds
            raise SetupError(
                f"cannot mint a token for {identity.service_account} in {identity.cluster}: {exc}"
            ) from exc

    @staticmethod
    def _forged(cluster: FakeCluster, signer: FakeCluster, identity: KubeIdentity) -> str:
        account = cluster.service_account(identity.namespace, identity.sa_name)
        if account is None:
            raise SetupError(f"no service account {identity.service_account} in {cluster.name}")
        pod = cluster.pod(identity.namespace, identity.pod) if identity.pod else None
        return mint_token(
            signer.signing_key,
            issuer=cluster.issuer,
            namespace=account.namespace,
            sa_name=account.name,
            sa_uid=account.uid,
            now=cluster.clock.time(),
            pod=pod,
            api_audiences=cluster.api_audiences,
        )

    # -- upstream journal ------------------------------------------------------------------------

    def reset_journals(self) -> None:
        with self._lock:
            for state in self._state.values():
                state.journal.clear()

    def journal(self, name: str) -> list[dict[str, Any]]:
        """Requests the cluster received since the last reset: `{method, path, headers}`."""
        self[name]
        with self._lock:
            return list(self._state[name].journal)

    # -- faults ----------------------------------------------------------------------------------

    def set_fault(self, name: str, endpoint: str, fault: str) -> None:
        self[name]
        with self._lock:
            targets = ("discovery", "jwks") if endpoint == "all" else (endpoint,)
            for target in targets:
                self._state[name].faults[target] = fault

    def _hook(self, name: str) -> Callable[[str, flask.Request], Response | None]:
        def hook(endpoint: str, request: flask.Request) -> Response | None:
            with self._lock:
                state = self._state[name]
                state.journal.append(
                    {
                        "method": request.method,
                        "path": request.path,
                        "headers": dict(request.headers.items()),
                    }
                )
                fault = state.faults.get(endpoint)
            return None if fault is None else _fault_response(fault)

        return hook

    # -- keys ------------------------------------------------------------------------------------

    def rotate(self, name: str, retire_old: bool = False) -> None:
        """Publish a new key, sign with it, and optionally unpublish the old one."""
        cluster = self[name]
        old, before = cluster.signing_key, cluster.keys
        new = cluster.rotate_add_key(old.key_type)
        cluster.rotate_sign_with(new.kid)
        if retire_old:
            cluster.rotate_retire(old.kid)
        self._rotations.append(_Rotation(name, old.kid, new.kid, before))

    def undo(self) -> None:
        """Back to the keys and faults of before the scenario; journals emptied."""
        while self._rotations:
            r = self._rotations.pop()
            # The same keys in the same JWKS order: a retired key published again would
            # otherwise come last, and the first key of the set would no longer be the same.
            self.clusters[r.cluster].keyring.replace(r.keys, r.old_kid)
        with self._lock:
            for state in self._state.values():
                state.faults.clear()
                state.journal.clear()


def _fault_response(fault: str) -> Response:
    if fault == "status-500":
        return Response(b"internal error\n", status=500, content_type="text/plain")
    if fault == "non-json":
        return Response(b"<html>not json</html>", status=200, content_type="text/html")
    if fault == "non-string-member":
        body = json.dumps({"issuer": 42, "jwks_uri": ["x"], "keys": "none"}).encode()
        return Response(body, status=200, content_type="application/json")
    if fault == "slow":
        threading.Event().wait(5)
        return Response(b"{}", status=200, content_type="application/json")
    # unreachable: the closest an HTTP answer gets is a gateway failure without a body
    return Response(b"", status=502)
