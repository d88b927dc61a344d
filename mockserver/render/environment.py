"""Where a render runs: the Federation Server it calls and the fake client clusters behind it.

A real ESE controller gets service-account tokens from its own cluster's TokenRequest API and
reads Secrets and ConfigMaps from it. Here the fake cluster named by the object's
`harness.esi-federation.dev/cluster` annotation (else the environment's default cluster) mints
the tokens, and publishes `kube-root-ca.crt` (key `ca.crt`) in every namespace as Kubernetes does.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mockserver.cluster import FakeCluster
from mockserver.state import StateDir
from mockserver.tokens import TokenRequestError

if TYPE_CHECKING:
    from mockserver.runtime import MockServer

ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
PROVIDER_TOKEN_SECONDS = 600
VARIABLE_TOKEN_SECONDS = 3600
_TOKEN_VARIABLE = re.compile(r"^clusters\.([^.]+)\.tokens\.([^/]+)/(.+)$")


class SetupError(RuntimeError):
    """The environment cannot do what a manifest asks (unknown cluster, no token source)."""


@dataclass
class Environment:
    """The server URL, the fake clusters (may be empty) and an optional fixed token."""

    federation_url: str
    clusters: dict[str, FakeCluster] = field(default_factory=dict)
    default_cluster: str | None = None
    token: str | None = None
    server_ca_pem: bytes | None = None
    cluster_urls: dict[str, str] = field(default_factory=dict)

    def cluster(self, name: str | None) -> FakeCluster | None:
        """The named fake cluster, or the default one; None when there are no clusters."""
        chosen = name or self.default_cluster
        if chosen is None:
            return None
        if chosen not in self.clusters:
            known = ", ".join(self.clusters) or "none"
            raise SetupError(f"no fake cluster {chosen!r} (clusters: {known})")
        return self.clusters[chosen]

    def ensure_service_account(self, cluster: str | None, namespace: str, name: str) -> None:
        """A ServiceAccount manifest the fake cluster lacks is created there (not persisted)."""
        fake = self.cluster(cluster)
        if fake is not None and fake.service_account(namespace, name) is None:
            fake.add_service_account(namespace, name)

    def request_token(
        self,
        cluster: str | None,
        namespace: str,
        name: str,
        audiences: tuple[str, ...] = (),
        duration: int = PROVIDER_TOKEN_SECONDS,
    ) -> str:
        """A TokenRequest for `namespace/name`; the fixed `--token-file` token when given."""
        if self.token is not None:
            return self.token
        fake = self.cluster(cluster)
        if fake is None:
            raise SetupError(
                "no fake cluster to mint a service-account token: pass --state-dir, or "
                "--token-file with a token the server accepts"
            )
        try:
            return fake.mint(
                f"{namespace}/{name}", audiences=list(audiences) or None, duration=duration
            )
        except (TokenRequestError, KeyError, ValueError) as exc:
            raise SetupError(
                f'cannot request Kubernetes service account token for service account "{name}": '
                f"{exc}"
            ) from exc

    def root_ca(self, cluster: str | None) -> bytes | None:
        """What `kube-root-ca.crt` holds in the client cluster: its CA certificate (PEM)."""
        fake = self.cluster(cluster) if self.clusters else None
        return fake.ca.cert_pem if fake is not None else None

    def variables(self) -> Variables:
        """`${...}` names usable in client-side manifests."""
        return Variables(self)


class Variables(Mapping[str, str]):
    """`federation.url`, `federation.caBase64`, `clusters.<c>.url|ca|caBase64`, and
    `clusters.<c>.tokens.<ns>/<sa>` (a fresh TokenRequest token, minted when read)."""

    def __init__(self, env: Environment) -> None:
        self._env = env
        self._static: dict[str, str] = {"federation.url": env.federation_url}
        if env.server_ca_pem:
            self._static["federation.ca"] = env.server_ca_pem.decode()
            self._static["federation.caBase64"] = base64.b64encode(env.server_ca_pem).decode()
        for name, cluster in env.clusters.items():
            pem = cluster.ca.cert_pem
            self._static[f"clusters.{name}.ca"] = pem.decode()
            self._static[f"clusters.{name}.caBase64"] = base64.b64encode(pem).decode()
            url = cluster.url if cluster.listening else env.cluster_urls.get(name)
            if url:
                self._static[f"clusters.{name}.url"] = url
        self._minted: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name in self._static:
            return self._static[name]
        match = _TOKEN_VARIABLE.match(name)
        if match is None or match.group(1) not in self._env.clusters:
            raise KeyError(name)
        if name not in self._minted:
            cluster, namespace, account = match.groups()
            self._env.ensure_service_account(cluster, namespace, account)
            self._minted[name] = self._env.request_token(
                cluster, namespace, account, duration=VARIABLE_TOKEN_SECONDS
            )
        return self._minted[name]

    def __iter__(self) -> Iterator[str]:
        names = list(self._static)
        names += [f"clusters.{c}.tokens.<namespace>/<serviceaccount>" for c in self._env.clusters]
        return iter(names)

    def __len__(self) -> int:
        return len(self._static) + len(self._env.clusters)


def from_state_dir(
    state_dir: Path, server: str | None = None, cluster: str | None = None
) -> Environment:
    """The environment of a running (or stopped) `esi-mock serve --state-dir DIR`: its
    federation URL and CA, and its fake clusters rebuilt offline with the kept keys."""
    from mockserver.clock import CLOCK
    from mockserver.manifests import fake_cluster_specs, read_documents
    from mockserver.runtime import build_clusters

    state = StateDir(state_dir)
    connection = state.read_connection()
    documents = read_documents(connection["fixtures"])
    clusters = build_clusters(fake_cluster_specs(documents), state, CLOCK)
    server_ca = Path(connection.get("server_ca_file", ""))
    env = Environment(
        federation_url=server or connection["federation_url"],
        clusters=clusters,
        default_cluster=cluster or next(iter(clusters), None),
        server_ca_pem=server_ca.read_bytes() if server_ca.is_file() else None,
    )
    for name, info in connection.get("clusters", {}).items():
        if name in clusters and info.get("url"):
            env.cluster_urls[name] = info["url"]
    return env


def from_mock(server: MockServer, cluster: str | None = None) -> Environment:
    """The environment of an in-process `MockServer` (its clusters are used as they are)."""
    return Environment(
        federation_url=server.federation_url,
        clusters=dict(server.clusters),
        default_cluster=cluster or next(iter(server.clusters), None),
        server_ca_pem=server.server_ca.cert_pem if server.server_ca else None,
    )
