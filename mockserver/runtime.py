"""One running mock: fake clusters, the federation listeners, state folder, volume refresh.

`MockServer` is what `esi-mock serve`, the pytest plugin and the conformance runner start.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mockserver.admin.api import create_admin_app
from mockserver.admin.clusterfaults import ClusterFaults
from mockserver.admin.control import MockControl, model_secrets
from mockserver.admin.faults import ClockGate, FaultSet
from mockserver.admin.idps import IdPAdmin
from mockserver.admin.journal import DEFAULT_SIZE, Journal
from mockserver.admin.logredaction import redact_log_records
from mockserver.admin.middleware import JournalMiddleware
from mockserver.admin.parts import ErrorLog, Initial, MockParts, Running
from mockserver.admin.redaction import Redactor
from mockserver.admin.tlsfaults import BadContexts
from mockserver.clock import CLOCK, Clock
from mockserver.cluster import FakeCluster, Pod, ServiceAccount
from mockserver.cluster.kubelet import KUBELET_TOKEN_SECONDS, kubelet_token
from mockserver.federation.app import create_app
from mockserver.federation.authn import spiffe_id_of
from mockserver.federation.bookkeeping import Bookkeeping
from mockserver.federation.context import FederationContext, Registry
from mockserver.federation.modes import Behaviour
from mockserver.idp import IdentityProviders, default_providers
from mockserver.manifests import (
    FakeClusterSpec,
    ManifestSet,
    build_model,
    fake_cluster_specs,
    read_documents,
    substitute,
)
from mockserver.paths import default_fixtures_dir
from mockserver.persistence import SqliteBooks
from mockserver.serving import Listener, ServingLimits
from mockserver.state import StateDir, write_private_file, write_projected_volume
from mockserver.tls import CertificateAuthority, SpiffeAuthority, server_context
from mockserver.tlsrefusal import PeerCertificate, RefusingServer

REFRESH_FRACTION = 0.8
VOLUME_TOKEN_SECONDS = KUBELET_TOKEN_SECONDS
UNREDACTED_WARNING = (
    "WARNING: esi-mock runs UNREDACTED: tokens, ca.crt bodies, private keys and secret values "
    "appear in clear in the journal and the logs. Use this for local debugging only."
)

spiffe_log = logging.getLogger("mockserver.spiffe")
"""Refused mTLS clients: the connection closes without an answer, so the reason is logged."""


def is_loopback(host: str) -> bool:
    """Whether `host` names the loopback interface (the admin API listens nowhere else)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
                public_issuer=spec.public_issuer,
                jwks_uri_host=spec.jwks_uri_host,
                clock=clock,
            )
            if state is not None:
                state.check_cluster(name)
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
        unredacted: bool = False,
        journal_size: int = DEFAULT_SIZE,
        admin_host: str = "127.0.0.1",
        admin_port: int = 0,
        serving_limits: ServingLimits | None = None,
        upstream_cache: float = 0.0,
        http_port: int = 0,
        tls_port: int = 0,
        mtls_port: int = 0,
        ephemeral: bool = False,
        console_results: str | Path | None = None,
    ) -> None:
        """`ephemeral`: keep GeneratorStates, AuthorizedIdentities and leak records in memory
        only; otherwise they persist in the state folder and a restart on it keeps them.
        `console_results`: a conformance results.json the console offers to open."""
        if not is_loopback(admin_host):
            raise ValueError(
                f"the admin API listens on loopback only; {admin_host!r} is not a loopback address"
            )
        self.fixtures = Path(fixtures) if fixtures else default_fixtures_dir()
        self.state = StateDir(state_dir)
        self.host = host
        self.ephemeral = ephemeral
        self.console_results = Path(console_results) if console_results else None
        self.books_file: SqliteBooks | None = None  # the kept books; None when ephemeral
        self.clock = clock
        self.behaviour = Behaviour(tuple(quirks), strict=strict)
        self._stop = threading.Event()
        self.redactor = Redactor(enabled=not unredacted)
        self.journal = Journal(journal_size)
        self.faults = FaultSet()
        self.gate = ClockGate(clock)
        self.cluster_faults = ClusterFaults(self._stop)
        self._errors = ErrorLog(self.redactor)
        self.parts = MockParts(
            journal=self.journal,
            faults=self.faults,
            cluster_faults=self.cluster_faults,
            gate=self.gate,
            behaviour=self.behaviour,
            clock=clock,
            redactor=self.redactor,
            errors=self._errors,
            state=self.state,
            initial=Initial(tuple(quirks), strict, clock.offset),
            connection=self.connection,
        )
        self.admin = MockControl(self.parts)
        self.admin_host = admin_host
        self.admin_port = admin_port
        self.serving_limits = serving_limits
        if upstream_cache < 0:
            raise ValueError(
                f"upstream_cache is {upstream_cache}: give 0 (fetch on every request) "
                "or a positive number of seconds"
            )
        self.upstream_cache = upstream_cache
        self.ports = {"http": http_port, "https": tls_port, "mtls": mtls_port}
        self.admin_listener: Listener | None = None
        self.variables: dict[str, str] = {}
        self.clusters: dict[str, FakeCluster] = {}
        self.idps = IdentityProviders(default_providers(clock))
        self.idp_admin = IdPAdmin(self.idps, self._stop, self.idp_dir)
        self.admin.idp_admin = self.idp_admin
        self.context: FederationContext | None = None
        self.listeners: dict[str, Listener] = {}
        self._refresh_volumes = refresh_volumes
        self._refresher: threading.Thread | None = None
        self._volume_expiry: dict[Path, float] = {}
        self.server_ca: CertificateAuthority | None = None
        # Called once listening, before connection.json says so (what `esi-mock wait` reads).
        self.before_ready: list[Callable[[MockServer], object]] = []
        self.spiffe: SpiffeAuthority | None = None
        self._stop_log_redaction: Callable[[], None] = lambda: None

    # -- start and stop --------------------------------------------------------------------------

    def start(self) -> MockServer:
        self._stop.clear()
        self.gate.open()
        self._stop_log_redaction = redact_log_records(self.redactor)
        if not self.redactor.enabled:
            print(UNREDACTED_WARNING, file=sys.stderr, flush=True)
        documents = read_documents(self.fixtures)
        self._check_authorities()
        store = None if self.ephemeral else SqliteBooks(self.state.root)
        self.books_file = store
        try:
            books = Bookkeeping(self.clock, store, guard=self.faults.fire_backend)
            self.clusters = build_clusters(fake_cluster_specs(documents), self.state, self.clock)
        except BaseException:
            self._close_books()
            raise
        if self.behaviour.strict:
            for cluster in self.clusters.values():
                cluster.anonymous_discovery = True
        try:
            for name, cluster in self.clusters.items():
                cluster.start()
                cluster.save_secrets(self.state.cluster_dir(name))
                write_private_file(self.state.cluster_ca_file(name), cluster.ca.cert_pem, 0o644)
            self.idps.start(self.idp_dir)
            self.idp_admin.snapshot()
            self.variables = {f"clusters.{n}.url": c.url for n, c in self.clusters.items()}
            model: ManifestSet = build_model(substitute(documents, self.variables))
            self._register_secrets(model)
            self.context = FederationContext(
                registry=Registry(model, self.behaviour),
                clusters=self.clusters,
                behaviour=self.behaviour,
                clock=self.clock,
                home_cluster=next(iter(self.clusters), None),
                books=books,
                identity_providers=self.idps,
            )
            self.context.resolver.upstream_cache = self.upstream_cache
            self._start_listeners()
            self.parts.running = Running(
                clusters=self.clusters,
                context=self.context,
                variables=self.variables,
                federation_url=self.listeners["http"].url,
                initial_keys={n: (c.keys, c.signing_key.kid) for n, c in self.clusters.items()},
            )
            self._start_admin()
            self.refresh_volumes(force=True)
            for callback in self.before_ready:
                callback(self)
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

    def _check_authorities(self) -> None:
        """Refuse a broken server or SPIFFE CA before anything starts."""
        self.state.check_server_authority(
            self.state.server_dir / "ca", self.state.server_dir / "ca.crt"
        )
        self.state.check_server_authority(
            self.state.spiffe_dir / "ca", self.state.spiffe_dir / "bundle.pem"
        )

    def _close_books(self) -> None:
        if self.books_file is not None:
            self.books_file.close()
            self.books_file = None

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
        names = tuple(dict.fromkeys(("127.0.0.1", "localhost", "::1", self.host)))
        leaf = self.server_ca.issue_server_cert(*names)
        self.redactor.add(self.server_ca.private_key_pem, "private key")
        self.redactor.add(self.spiffe.ca.private_key_pem, "private key")
        bad = {
            "https": BadContexts(self.server_ca, names),
            "mtls": BadContexts(self.server_ca, names, require_client_cert_from=self.spiffe),
        }
        self.listeners = {
            "http": Listener(
                self._app("http"),
                self.host,
                self.ports["http"],
                name="federation-http",
                limits=self.serving_limits,
            ),
            "https": Listener(
                self._app("https"),
                self.host,
                self.ports["https"],
                ssl_context=server_context(leaf),
                name="federation-https",
                limits=self.serving_limits,
                context_for_connection=self._tls_fault_hook("https", bad["https"]),
            ),
            "mtls": Listener(
                self._app("mtls"),
                self.host,
                self.ports["mtls"],
                ssl_context=server_context(leaf, require_client_cert_from=self.spiffe),
                peer_check=self._spiffe_allowed,
                refusing=RefusingServer(leaf, self.spiffe.trust_bundle_pem, self._spiffe_allowed),
                name="federation-mtls",
                limits=self.serving_limits,
                context_for_connection=self._tls_fault_hook("mtls", bad["mtls"]),
            ),
        }
        for listener in self.listeners.values():
            listener.set_log_filter(self.redactor.scrub)
            listener.start()

    def _app(self, listener: str) -> JournalMiddleware:
        """The federation app of one listener, inside the journal and fault middleware."""
        assert self.context is not None
        app = create_app(self.context, listener, on_error=self.report_error)
        return JournalMiddleware(
            app,
            listener,
            journal=self.journal,
            redactor=self.redactor,
            faults=self.faults,
            gate=self.gate,
            clock=self.clock,
            stopping=self._stop,
            on_error=self.report_error,
        )

    def _tls_fault_hook(self, listener: str, bad: BadContexts) -> Any:
        def hook(_address: Any) -> ssl.SSLContext | None:
            firing = self.faults.pick_tls(listener)
            return None if firing is None else bad.get(firing.rule.tls or "")

        return hook

    def _start_admin(self) -> None:
        app = create_admin_app(self.admin, self.report_error, self.console_results)
        self.admin_listener = Listener(
            app,
            self.admin_host,
            self.admin_port,
            name="admin",
            log_filter=self.redactor.scrub,
            limits=self.serving_limits,
        ).start()
        self.cluster_faults.install(self.clusters)

    def _register_secrets(self, model: ManifestSet) -> None:
        """Teach the redactor every secret known at start: keys, CAs, store values."""
        for cluster in self.clusters.values():
            for key in cluster.keys:
                self.redactor.add(key.private_pem(), "private key")
            self.redactor.add(cluster.ca.private_key_pem, "private key")
            self.redactor.add(cluster.ca.cert_pem, "ca.crt")
        for provider in self.idps.values():
            for server in provider.servers.values():
                for key in server.keys.keys:
                    self.redactor.add(key.private_pem(), "private key")
            self.redactor.add(provider.ca.private_key_pem, "private key")
        self.redactor.add_many(model_secrets(model), "store value")

    # -- failures inside the mock's threads ------------------------------------------------------

    def report_error(self, error: BaseException, where: str) -> None:
        """Keep a failure from a serving thread so the test that caused it can see it."""
        self._errors.report(error, where)

    def errors(self) -> list[str]:
        return self._errors.all()

    def take_errors(self) -> list[str]:
        return self._errors.take()

    def reset(self) -> None:
        """Back to the loaded fixtures (see `MockControl.reset`)."""
        self.admin.reset()

    def _spiffe_allowed(self, tls: PeerCertificate) -> bool:
        """The TLS allow-list: SPIFFE IDs that some current Authorization names (asked inside
        the mTLS handshake, so a refusal is the alert `bad_certificate`, as Go sends it)."""
        der = tls.getpeercert(binary_form=True)
        if der is None or self.context is None:
            return False
        try:
            spiffe_id = spiffe_id_of(ssl.DER_cert_to_PEM_cert(der))
        except Exception as exc:
            spiffe_log.warning("mTLS: refused a client certificate without a SPIFFE ID: %s", exc)
            return False
        if self.context.registry.tls_allowed(spiffe_id):
            return True
        spiffe_log.warning(
            "mTLS: refused SVID %s: no Authorization names it (spec.subject.spiffe.spiffeID)",
            spiffe_id,
        )
        return False

    def stop(self) -> None:
        self._stop.set()
        self._stop_log_redaction()
        self.gate.close()
        self.cluster_faults.clear()
        if self._refresher is not None:
            self._refresher.join(timeout=5)
            self._refresher = None
        if self.admin_listener is not None:
            self.admin_listener.stop()
            self.admin_listener = None
        for listener in self.listeners.values():
            listener.stop()
        self.listeners = {}
        for cluster in self.clusters.values():
            cluster.stop()
        self.idp_admin.clear_faults()
        self.idps.stop()
        self._close_books()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients need -----------------------------------------------------------------------

    @property
    def federation_url(self) -> str:
        return self.listeners["http"].url

    @property
    def admin_url(self) -> str:
        if self.admin_listener is None:
            raise RuntimeError("the mock is not running: call start() first")
        return self.admin_listener.url

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
            "admin_url": self.admin_listener.url if self.admin_listener else None,
            "console_url": self.admin_listener.url + "/" if self.admin_listener else None,
            "unredacted": not self.redactor.enabled,
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
            "idps": self.idps.connection({n: self.idp_dir / n / "ca.crt" for n in self.idps}),
        }

    @property
    def idp_dir(self) -> Path:
        """The fake identity providers' CAs and keys in the state folder."""
        return self.state.root / "idps"

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
                token = kubelet_token(cluster, sa)
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
