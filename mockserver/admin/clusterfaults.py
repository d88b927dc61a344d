"""Faults on the fake clusters: the upstream side that breaks real Federation Servers.

Installed through `FakeCluster.faults` (answers for the discovery and JWKS endpoints) and the
cluster listener's per-connection TLS hook (wrong or expired certificates). Unlike request faults,
a cluster fault lasts until removed unless it is given a `count`: a Federation Server caches keys,
so "the next N fetches" is rarely what a test means.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import flask
from cryptography.hazmat.primitives.serialization import Encoding
from werkzeug.wrappers import Response

from mockserver.admin.faults import FaultError, spend
from mockserver.admin.tlsfaults import BadContexts
from mockserver.cluster import FakeCluster, status_body
from mockserver.discovery import JWKS_CONTENT_TYPE

KINDS = (
    "status-500",
    "garbage",
    "timeout",
    "x5c",
    "no-alg",
    "wrong-cert",
    "expired-cert",
    "jwks-uri-host",
)
ENDPOINTS = ("discovery", "jwks", "any")
TIMEOUT_SECONDS = 15.0
GARBAGE = b"\x89garbage{{ not json <html>\n"
_TLS_KINDS = {"wrong-cert": "untrusted-ca", "expired-cert": "expired"}
_KEYS = ("cluster", "kind", "endpoint", "count", "host")


@dataclass
class ClusterFaultRule:
    id: int
    cluster: str
    kind: str
    endpoint: str = "any"
    count: int | None = None
    host: str | None = None
    fired: int = 0
    previous_host: str | None = None
    released: threading.Event = field(default_factory=threading.Event, repr=False)

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "id": self.id,
            "cluster": self.cluster,
            "kind": self.kind,
            "endpoint": self.endpoint,
            "count": self.count,
            "fired": self.fired,
        }
        if self.host is not None:
            described["host"] = self.host
        return described


def _parse(rule_id: int, spec: Any, clusters: Mapping[str, FakeCluster]) -> ClusterFaultRule:
    if not isinstance(spec, dict):
        raise FaultError("a cluster fault is a JSON object")
    unknown = sorted(set(spec) - set(_KEYS))
    if unknown:
        raise FaultError(f"unknown cluster fault field {unknown[0]!r}; known: {', '.join(_KEYS)}")
    cluster, kind = spec.get("cluster"), spec.get("kind")
    if cluster not in clusters:
        raise FaultError(f"cluster must be one of {', '.join(clusters)}, got {cluster!r}")
    if kind not in KINDS:
        raise FaultError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    endpoint = spec.get("endpoint", "any")
    if endpoint not in ENDPOINTS:
        raise FaultError(f"endpoint must be one of {', '.join(ENDPOINTS)}, got {endpoint!r}")
    if kind in ("x5c", "no-alg"):
        if endpoint == "discovery":
            raise FaultError(f"{kind} changes the JWKS; it cannot apply to the discovery endpoint")
        endpoint = "jwks"
    count = spec.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise FaultError(f"count must be a whole number of at least 1 or null, got {count!r}")
    host = spec.get("host")
    if kind == "jwks-uri-host":
        if not isinstance(host, str) or not host:
            raise FaultError("jwks-uri-host needs host, e.g. 'keys.elsewhere.test:8443'")
    elif host is not None:
        raise FaultError("host is only for kind jwks-uri-host")
    return ClusterFaultRule(rule_id, str(cluster), kind, endpoint, count, host)


class ClusterFaults:
    """The cluster faults of one mock; `install(clusters)` hooks every cluster at start."""

    def __init__(self, stopping: threading.Event) -> None:
        self.clusters: Mapping[str, FakeCluster] = {}
        self.stopping = stopping
        self._lock = threading.Lock()
        self._rules: list[ClusterFaultRule] = []
        self._next_id = 1
        self._bad: dict[str, BadContexts] = {}

    def install(self, clusters: Mapping[str, FakeCluster]) -> None:
        """Hook the clusters of a mock that has just started (their rules start empty)."""
        self.clusters = clusters
        self._bad = {}
        for name, cluster in clusters.items():
            cluster.faults = self._hook(name)
            listener = cluster.listener
            if listener is not None:
                self._bad[name] = BadContexts(cluster.ca, cluster.server_names())
                listener.context_for_connection = self._tls_hook(name)

    # -- rules -----------------------------------------------------------------------------------

    def add(self, spec: Any) -> ClusterFaultRule:
        with self._lock:
            rule = _parse(self._next_id, spec, self.clusters)
            if rule.kind in _TLS_KINDS and rule.cluster not in self._bad:
                raise FaultError(f"cluster {rule.cluster} is not serving")
            self._next_id += 1
            self._rules.append(rule)
        self.clusters[rule.cluster].touch()  # cached upstream outcomes no longer hold
        if rule.kind == "jwks-uri-host":
            cluster = self.clusters[rule.cluster]
            rule.previous_host = cluster.jwks_uri_host
            cluster.jwks_uri_host = rule.host
        return rule

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            doomed = [r for r in self._rules if r.id == rule_id]
            self._rules = [r for r in self._rules if r.id != rule_id]
        for rule in doomed:
            self._release(rule)
        return bool(doomed)

    def clear(self) -> int:
        with self._lock:
            doomed, self._rules = self._rules, []
        for rule in reversed(doomed):
            self._release(rule)
        return len(doomed)

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.describe() for r in self._rules]

    def _release(self, rule: ClusterFaultRule) -> None:
        rule.released.set()
        self.clusters[rule.cluster].touch()
        if rule.kind == "jwks-uri-host":
            self.clusters[rule.cluster].jwks_uri_host = rule.previous_host

    def _take(self, cluster: str, wanted: Any) -> ClusterFaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.cluster != cluster or not wanted(rule):
                    continue
                self.clusters[cluster].touch()
                spend(self._rules, rule)
                return rule
        return None

    # -- hooks -----------------------------------------------------------------------------------

    def _tls_hook(self, name: str) -> Any:
        def hook(_address: Any) -> Any:
            rule = self._take(name, lambda r: r.kind in _TLS_KINDS)
            return None if rule is None else self._bad[name].get(_TLS_KINDS[rule.kind])

        return hook

    def _hook(self, name: str) -> Any:
        cluster = self.clusters[name]

        def hook(endpoint: str, request: flask.Request) -> Response | None:
            if endpoint not in ("discovery", "jwks"):
                return None
            rule = self._take(
                name,
                lambda r: (
                    r.kind not in _TLS_KINDS
                    and r.kind != "jwks-uri-host"
                    and r.endpoint in (endpoint, "any")
                ),
            )
            if rule is None:
                return None
            return self._act(rule, cluster, request)

        return hook

    def _act(self, rule: ClusterFaultRule, cluster: FakeCluster, request: flask.Request) -> Any:
        if rule.kind == "status-500":
            body = status_body(500, "InternalError", "Internal error occurred: fault injected")
            return Response(body, status=500, content_type="application/json")
        if rule.kind == "garbage":
            return Response(GARBAGE, status=200, content_type="application/json")
        if rule.kind == "timeout":
            deadline = time.monotonic() + TIMEOUT_SECONDS
            while not rule.released.wait(0.05) and not self.stopping.is_set():
                if time.monotonic() >= deadline:
                    break
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else None
        if cluster.authenticate_bearer(bearer, request.path)[0] != 200:
            return None  # the cluster refuses the caller as usual
        document = json.loads(cluster.jwks_bytes())
        for key in document["keys"]:
            if rule.kind == "x5c":
                der = cluster.ca.certificate.public_bytes(Encoding.DER)
                key["x5c"] = [base64.b64encode(der).decode()]
            else:
                key.pop("alg", None)
        return Response(json.dumps(document).encode(), status=200, content_type=JWKS_CONTENT_TYPE)
