"""What a fake cluster holds: service accounts, pods, nodes and legacy token Secrets.

Every change bumps the shared `Mutations` counter, which the Federation Server's key caches
compare instead of refetching (docs/modes.md, Upstream caching).
"""

from __future__ import annotations

import threading
import uuid

from mockserver.cluster.objects import Node, Pod, ServiceAccount


class Mutations:
    """A counter bumped by every change that may change what the cluster accepts or serves."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return self._count

    def bump(self) -> None:
        with self._lock:
            self._count += 1


class Inventory:
    """Service accounts, pods, nodes and deleted legacy Secrets of one cluster, under one lock."""

    def __init__(self, cluster_name: str, mutations: Mutations) -> None:
        self.cluster_name = cluster_name
        self._mutations = mutations
        self._lock = threading.RLock()
        self._service_accounts: dict[tuple[str, str], ServiceAccount] = {}
        self._pods: dict[tuple[str, str], Pod] = {}
        self._nodes: dict[str, Node] = {}
        self._deleted_secrets: set[tuple[str, str]] = set()

    def stable_uid(self, kind: str, namespace: str, name: str) -> str:
        """A uuid5 of cluster/kind/namespace/name, so UIDs survive restarts."""
        return str(
            uuid.uuid5(
                uuid.NAMESPACE_URL, f"esi-mock:{self.cluster_name}/{kind}/{namespace}/{name}"
            )
        )

    def add_service_account(
        self, namespace: str, name: str, uid: str | None = None
    ) -> ServiceAccount:
        sa = ServiceAccount(namespace, name, uid or self.stable_uid("sa", namespace, name))
        with self._lock:
            self._service_accounts[(namespace, name)] = sa
        self._mutations.bump()
        return sa

    def remove_service_account(self, namespace: str, name: str) -> None:
        with self._lock:
            self._service_accounts.pop((namespace, name), None)
        self._mutations.bump()

    def add_pod(
        self,
        namespace: str,
        name: str,
        service_account: str = "default",
        uid: str | None = None,
        node: str | None = None,
    ) -> Pod:
        """Add a pod; its service account must exist in the same namespace."""
        with self._lock:
            if (namespace, service_account) not in self._service_accounts:
                raise ValueError(
                    f"pod {namespace}/{name}: service account {namespace}/{service_account} "
                    f"does not exist in cluster {self.cluster_name}"
                )
            pod = Pod(
                namespace,
                name,
                uid or self.stable_uid("pod", namespace, name),
                service_account,
                node,
            )
            self._pods[(namespace, name)] = pod
            if node is not None:
                self.add_node(node)
        self._mutations.bump()
        return pod

    def remove_pod(self, namespace: str, name: str) -> None:
        with self._lock:
            self._pods.pop((namespace, name), None)
        self._mutations.bump()

    def add_node(self, name: str, uid: str | None = None) -> Node:
        with self._lock:
            if name not in self._nodes or uid:
                self._nodes[name] = Node(name, uid or self.stable_uid("node", "", name))
                self._mutations.bump()
            return self._nodes[name]

    def remove_node(self, name: str) -> None:
        """Delete a node: tokens bound to it (and to no pod) are invalidated."""
        with self._lock:
            self._nodes.pop(name, None)
        self._mutations.bump()

    def delete_secret(self, namespace: str, name: str) -> None:
        """Delete a legacy token Secret: the tokens it held are invalidated."""
        with self._lock:
            self._deleted_secrets.add((namespace, name))
        self._mutations.bump()

    def restore_secret(self, namespace: str, name: str) -> None:
        with self._lock:
            if (namespace, name) not in self._deleted_secrets:
                return
            self._deleted_secrets.discard((namespace, name))
        self._mutations.bump()

    def secret_exists(self, namespace: str, name: str) -> bool:
        with self._lock:
            return (namespace, name) not in self._deleted_secrets

    def service_account(self, namespace: str, name: str) -> ServiceAccount | None:
        with self._lock:
            return self._service_accounts.get((namespace, name))

    def pod(self, namespace: str, name: str) -> Pod | None:
        with self._lock:
            return self._pods.get((namespace, name))

    def node(self, name: str) -> Node | None:
        with self._lock:
            return self._nodes.get(name)

    @property
    def service_accounts(self) -> list[ServiceAccount]:
        with self._lock:
            return list(self._service_accounts.values())

    @property
    def pods(self) -> list[Pod]:
        with self._lock:
            return list(self._pods.values())

    def find_pod_by_uid(self, uid: str) -> Pod | None:
        with self._lock:
            return next((p for p in self._pods.values() if p.uid == uid), None)

    def find_service_account_by_uid(self, uid: str) -> ServiceAccount | None:
        with self._lock:
            return next((s for s in self._service_accounts.values() if s.uid == uid), None)
