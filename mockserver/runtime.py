"""One running mock: fake clusters, the federation listeners, state folder, volume refresh.

`MockServer` is what `esi-mock serve`, the pytest plugin and the conformance runner start.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mockserver.clock import CLOCK, Clock
from mockserver.cluster import FakeCluster, Pod, ServiceAccount
from mockserver.federation.app import create_app
from mockserver.federation.authn import spiffe_id_of
from mockserver.federation.context import FederationContext, Registry
from mockserver.federation.modes import Behaviour
from mockserver.manifests import (
    FakeClusterSpec,
    ManifestSet,
    build_model,
    fake_cluster_specs,
    read_documents,
    substitute,
)
from mockserver.paths import default_fixtures_dir
from mockserver.serving import Listener
from mockserver.state import StateDir, write_private_file, write_projected_volume
from mockserver.tls import CertificateAuthority, SpiffeAuthority, server_context

REFRESH_FRACTION = 0.8
VOLUME_TOKEN_SECONDS = 3600


def build_clusters(
    specs: Iterable[FakeClusterSpec], state: StateDir | None, clock: Clock
) -> dict[str, FakeCluster]:
    """Fake clusters from their manifests, reusing keys and CAs kept in the state folder."""
    specs = list(specs)
    clusters: dict[str, FakeCluster] = {}
    pending = {s.name: s for s in specs}
    while pending:
        progressed = False
        for name, spec in list(pending.items()):
            if spec.ca_from is not None and spec.ca_from not in clusters:
                continue
            cluster = FakeCluster(
                spec.name,
                issuer=spec.issuer,
                api_audiences=spec.api_audiences,
                ca=clusters[spec.ca_from].ca if spec.ca_from else None,
                extra_names=spec.extra_names,
                host=spec.listen_host,
                port=spec.listen_port,
                key_types=spec.key_types,
                service_accounts=[
                    ServiceAccount(a.namespace, a.name, a.uid or "") for a in spec.service_accounts
                ],
                pods=[
                    Pod(p.namespace, p.name, p.uid or "", p.service_account, p.node)
                    for p in spec.pods
                ],
                anonymous_discovery=spec.anonymous_discovery,
                jwks_uri_host=spec.jwks_uri_host,
                clock=clock,
            )
            if state is not None:
                cluster.load_secrets(state.cluster_dir(name))
                if spec.ca_from:
                    cluster.ca = clusters[spec.ca_from].ca
            clusters[name] = cluster
            del pending[name]
            progressed = True
        if not progressed:
            raise ValueError(f"FakeCluster caFrom cycle among: {', '.join(sorted(pending))}")
    return {s.name: clusters[s.name] for s in specs}


class MockServer:
    """Fake clusters plus a mock Federation Server on plain HTTP, HTTPS and SPIFFE mTLS."""

    def __init__(
        self,
        fixtures: str | Path | None = None,
        state_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        quirks: Iterable[str] = (),
        strict: bool = False,
        clock: Clock = CLOCK,
        refresh_volumes: bool = True,
    ) -> None:
        self.fixtures = Path(fixtures) if fixtures else default_fixtures_dir()
        self.state = StateDir(state_dir)
        self.host = host
        self.clock = clock
        self.behaviour = Behaviour(tuple(quirks), strict=strict)
        self.clusters: dict[str, FakeCluster] = {}
        self.context: FederationContext | None = None
        self.listeners: dict[str, Listener] = {}
        self._refresh_volumes = refresh_volumes
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None
        self._volume_expiry: dict[Path, float] = {}
        self.server_ca: CertificateAuthority | None = None
        self.spiffe: SpiffeAuthority | None = None

    # -- start and stop --------------------------------------------------------------------------

    def start(self) -> MockServer:
        documents = read_documents(self.fixtures)
        self.clusters = build_clusters(fake_cluster_specs(documents), self.state, self.clock)
        if self.behaviour.strict:
            for cluster in self.clusters.values():
                cluster.anonymous_discovery = True
        try:
            for name, cluster in self.clusters.items():
                cluster.start()
                cluster.save_secrets(self.state.cluster_dir(name))
                write_private_file(self.state.cluster_ca_file(name), cluster.ca.cert_pem, 0o644)
            variables = {f"clusters.{n}.url": c.url for n, c in self.clusters.items()}
            model: ManifestSet = build_model(substitute(documents, variables))
            self.context = FederationContext(
                registry=Registry(model, self.behaviour),
                clusters=self.clusters,
                behaviour=self.behaviour,
                clock=self.clock,
                home_cluster=next(iter(self.clusters), None),
            )
            self._start_listeners()
            self.refresh_volumes(force=True)
            self.state.write_connection(self.connection())
        except BaseException:
            self.stop()
            raise
        if self._refresh_volumes:
            self._refresher = threading.Thread(
                target=self._refresh_loop, name="esi-volumes", daemon=True
            )
            self._refresher.start()
        return self

    def _authority(self, directory: Path) -> CertificateAuthority:
        if CertificateAuthority.exists(directory):
            return CertificateAuthority.load(directory)
        authority = CertificateAuthority.create()
        authority.save(directory)
        return authority

    def _start_listeners(self) -> None:
        assert self.context is not None
        self.server_ca = self._authority(self.state.server_dir / "ca")
        self.spiffe = SpiffeAuthority("mock", self._authority(self.state.spiffe_dir / "ca"))
        # One SPIFFE CA signs SVIDs of every trust domain the fixtures name.
        write_private_file(self.state.server_dir / "ca.crt", self.server_ca.cert_pem, 0o644)
        write_private_file(
            self.state.spiffe_dir / "bundle.pem", self.spiffe.trust_bundle_pem, 0o644
        )
        names = ("127.0.0.1", "localhost", "::1", self.host)
        leaf = self.server_ca.issue_server_cert(*dict.fromkeys(names))
        self.listeners = {
            "http": Listener(create_app(self.context, "http"), self.host, name="federation-http"),
            "https": Listener(
                create_app(self.context, "https"),
                self.host,
                ssl_context=server_context(leaf),
                name="federation-https",
            ),
            "mtls": Listener(
                create_app(self.context, "mtls"),
                self.host,
                ssl_context=server_context(leaf, require_client_cert_from=self.spiffe),
                peer_check=self._spiffe_allowed,
                name="federation-mtls",
            ),
        }
        for listener in self.listeners.values():
            listener.start()

    def _spiffe_allowed(self, tls: ssl.SSLSocket) -> bool:
        """The TLS allow-list: SPIFFE IDs that some current Authorization names."""
        der = tls.getpeercert(binary_form=True)
        if der is None or self.context is None:
            return False
        try:
            spiffe_id = spiffe_id_of(ssl.DER_cert_to_PEM_cert(der))
        except Exception:
            return False
        return any(a.spiffe_id == spiffe_id for a in self.context.registry.model.authorizations)

    def stop(self) -> None:
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join(timeout=5)
            self._refresher = None
        for listener in self.listeners.values():
            listener.stop()
        self.listeners = {}
        for cluster in self.clusters.values():
            cluster.stop()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients need -----------------------------------------------------------------------

    @property
    def federation_url(self) -> str:
        return self.listeners["http"].url

    def connection(self) -> dict[str, Any]:
        """The document written to `connection.json`: every URL and file a client needs."""
        clusters = {}
        for name, cluster in self.clusters.items():
            clusters[name] = {
                "issuer": cluster.issuer,
                "url": cluster.url,
                "ca_file": str(self.state.cluster_ca_file(name)),
                "jwks_url": cluster.jwks_url,
                "discovery_url": cluster.discovery_url,
                "serviceaccounts": {
                    f"{sa.namespace}/{sa.name}": str(
                        self.state.volume_dir(name, sa.namespace, sa.name)
                    )
                    for sa in cluster.service_accounts
                },
            }
        return {
            "state_dir": str(self.state.root),
            "fixtures": str(self.fixtures.resolve()),
            "federation_url": self.listeners["http"].url,
            "federation_tls_url": self.listeners["https"].url,
            "federation_mtls_url": self.listeners["mtls"].url,
            "server_ca_file": str(self.state.server_dir / "ca.crt"),
            "spiffe_bundle_file": str(self.state.spiffe_dir / "bundle.pem"),
            "spiffe_trust_domains": sorted(
                f.trust_domain for f in self.context.registry.model.spiffe_federations.values()
            )
            if self.context
            else [],
            "quirks": sorted(self.behaviour.quirks),
            "strict": self.behaviour.strict,
            "clusters": clusters,
        }

    # -- projected volumes -----------------------------------------------------------------------

    def refresh_volumes(self, force: bool = False) -> int:
        """Rewrite each SA's volume whose token passed 80 % of its life; return how many."""
        now = self.clock.now()
        written = 0
        for name, cluster in self.clusters.items():
            for sa in cluster.service_accounts:
                folder = self.state.volume_dir(name, sa.namespace, sa.name)
                if not force and self._volume_expiry.get(folder, 0) > now:
                    continue
                token = cluster.mint(f"{sa.namespace}/{sa.name}", duration=VOLUME_TOKEN_SECONDS)
                write_projected_volume(
                    folder,
                    {
                        "token": token.encode(),
                        "ca.crt": cluster.ca.cert_pem,
                        "namespace": sa.namespace.encode(),
                    },
                    now,
                )
                self._volume_expiry[folder] = now + REFRESH_FRACTION * VOLUME_TOKEN_SECONDS
                written += 1
        return written

    def _refresh_loop(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.refresh_volumes()
            except OSError:
                continue
