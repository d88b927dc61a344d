"""The Kubernetes objects a vendor applies next to the bundle's CRDs: Namespaces, ServiceAccounts
and Pods.

The real server looks up the caller's Pod (or ServiceAccount) by name in the workload's namespace
in its own cluster when it creates a GeneratorState (R2), and answers 400 `pods "<name>" not
found` when it is missing. The harness's tokens name the fake clusters' service accounts and
pods, so the server's cluster needs objects with those names. Kubernetes assigns UIDs itself:
the tokens carry the fake clusters' UIDs, which the server's objects will not share; the bundle
states both so a vendor can see which lookups key on the name and which on the UID.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mockserver.cluster import FakeCluster

PAUSE_IMAGE = "registry.k8s.io/pause:3.9"
"""The Pods only need to exist: the smallest image that keeps a container running."""


def workload_table(
    clusters: Mapping[str, FakeCluster],
) -> dict[str, dict[str, list[dict[str, str]]]]:
    """Cluster → its service accounts and pods, with the UIDs its tokens carry."""
    table: dict[str, dict[str, list[dict[str, str]]]] = {}
    for name, cluster in clusters.items():
        table[name] = {
            "serviceAccounts": [
                {"namespace": a.namespace, "name": a.name, "uid": a.uid}
                for a in cluster.service_accounts
            ],
            "pods": [
                {
                    "namespace": p.namespace,
                    "name": p.name,
                    "uid": p.uid,
                    "serviceAccount": p.service_account,
                }
                for p in cluster.pods
            ],
        }
    return table


def namespaces_used(
    manifests: Iterable[Mapping[str, Any]], table: Mapping[str, Mapping[str, list[dict[str, str]]]]
) -> list[str]:
    """Every namespace a manifest lives in, a generator is allowed in, or a workload runs in."""
    found: set[str] = set()
    for doc in manifests:
        namespace = (doc.get("metadata") or {}).get("namespace")
        if namespace:
            found.add(str(namespace))
        for generator in (doc.get("spec") or {}).get("allowedGenerators") or []:
            if isinstance(generator, Mapping) and generator.get("namespace"):
                found.add(str(generator["namespace"]))
    for cluster in table.values():
        for objects in cluster.values():
            found.update(o["namespace"] for o in objects)
    return sorted(found)


def kubernetes_objects(
    manifests: Iterable[Mapping[str, Any]], table: Mapping[str, Mapping[str, list[dict[str, str]]]]
) -> list[dict[str, Any]]:
    """Namespaces first, then one ServiceAccount and one Pod per distinct namespace and name."""
    manifests = list(manifests)
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        for ns in namespaces_used(manifests, table)
    ]
    seen: set[tuple[str, str, str]] = set()
    for cluster, kinds in table.items():
        for sa in kinds["serviceAccounts"]:
            key = ("ServiceAccount", sa["namespace"], sa["name"])
            if key in seen:
                continue
            seen.add(key)
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {
                        "name": sa["name"],
                        "namespace": sa["namespace"],
                        "annotations": _origin(cluster, sa["uid"]),
                    },
                }
            )
    for cluster, kinds in table.items():
        for pod in kinds["pods"]:
            key = ("Pod", pod["namespace"], pod["name"])
            if key in seen:
                continue
            seen.add(key)
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": pod["name"],
                        "namespace": pod["namespace"],
                        "annotations": _origin(cluster, pod["uid"]),
                    },
                    "spec": {
                        "serviceAccountName": pod["serviceAccount"],
                        "automountServiceAccountToken": False,
                        "containers": [{"name": "pause", "image": PAUSE_IMAGE}],
                    },
                }
            )
    return objects


def _origin(cluster: str, uid: str) -> dict[str, str]:
    """Where the harness's tokens for this object come from, and the UID they claim."""
    return {
        "conformance.esi-federation.dev/fake-cluster": cluster,
        "conformance.esi-federation.dev/token-uid": uid,
    }
