"""The vendor bundle: what a server under test loads, and the harness identities it trusts.

`create_bundle` fixes where the fake clusters will listen, generates their keys and CAs (kept,
mode 0600, so every later run presents the same identities), the SPIFFE CA and SVIDs, and writes
standard CRD YAML pointing at the clusters. `BundleClusters` starts those clusters again, on the
same addresses, for `esi-conformance server --target`.

Placement: with a port in `--issuer-url` (or none given: 127.0.0.1 and ports free at bundle time)
every cluster has its own port. Without a port every cluster listens on 443 behind one listener
that picks the cluster by TLS server name and Host: `https://<cluster>.<HOST>`. For a server in a
container or a kind cluster, `--advertise-host` puts another host in every URL and
`--cluster-url NAME=URL` sets one cluster's URL; both make the clusters listen on all addresses
unless `--bind` says otherwise.

The bundle's fake upstreams are a list of `{name, kind}` in bundle.json (`upstreams`): the
`FakeCluster`s, then the `FakeIdentityProvider`s (a fake Okta org and a fake PingOne, described
under `idps` and kept in `idps/`, see `bundle_idps.py`), all started by `BundleClusters`.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import json
import random
import shutil
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import yaml

from conformance.bundle_idps import IDP_KIND, BundleIdps, write_bundle_idps
from conformance.bundle_readme import vendor_readme
from conformance.bundle_workloads import kubernetes_objects, workload_table
from conformance.bundleports import BundleError, check_port, port_problem
from conformance.runner.clusters import ClusterSet
from mockserver.bundlefolder import (
    BUNDLE_FILE,
    CLUSTERS_FILE,
    IDPS_FOLDER,
    KUBERNETES_FILE,
    MANIFESTS_FILE,
    SCHEMA_VERSION,
)
from mockserver.cluster import FakeCluster
from mockserver.idp import IdentityProviders
from mockserver.manifests import fake_cluster_specs, read_documents, substitute
from mockserver.manifests.documents import Document
from mockserver.paths import default_fixtures_dir
from mockserver.runtime import build_clusters
from mockserver.serving import Listener
from mockserver.state import StateDir, write_private_file
from mockserver.tls import CertificateAuthority, SpiffeAuthority, server_context

FAKE_CLUSTER_KIND = "FakeCluster"
OWN_ENTRIES = (
    BUNDLE_FILE,
    MANIFESTS_FILE,
    CLUSTERS_FILE,
    KUBERNETES_FILE,
    "README.md",
    "clusters",
    "spiffe",
    IDPS_FOLDER,
)
"""What a bundle writes into its folder (`--force` replaces exactly these)."""


@dataclass(frozen=True)
class Placement:
    """Where one fake cluster listens and the URL the server under test is given."""

    url: str
    bind_host: str
    bind_port: int
    server_name: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def plan_placements(
    names: list[str], issuer_url: str | None, bind: str, shared_port: int | None = None
) -> dict[str, Placement]:
    """Cluster name → Placement for `--issuer-url` and `--bind` (see the module docstring)."""
    if issuer_url is None:
        host, port = bind if bind not in ("0.0.0.0", "::") else "127.0.0.1", None
        ports = _free_ports(bind, len(names))
        return {
            n: Placement(f"https://{_url_host(host)}:{p}", bind, p, host)
            for n, p in zip(names, ports, strict=True)
        }
    parts = urlsplit(issuer_url)
    bare_host = _bare_https_host(parts)
    if bare_host is None:
        raise BundleError(f"--issuer-url must look like https://HOST[:PORT], got {issuer_url!r}")
    host, port = bare_host, parts.port
    if port is not None:
        return {
            n: Placement(f"https://{_url_host(host)}:{port + i}", bind, port + i, host)
            for i, n in enumerate(names)
        }
    if _is_ip(host):
        raise BundleError(
            "--issuer-url without a port needs a DNS name (the clusters are "
            "told apart by name: https://<cluster>.<HOST>)"
        )
    shared = 443 if shared_port is None else shared_port
    return {n: Placement(f"https://{n}.{host}", bind, shared, f"{n}.{host}") for n in names}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _bare_https_host(parts: SplitResult) -> str | None:
    """The HOST of `https://HOST[:PORT]` with nothing after it but an optional `/`, else None."""
    bare = parts.scheme == "https" and parts.path in ("", "/") and not parts.query
    return parts.hostname if bare and not parts.fragment and parts.hostname else None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_FIXED_PORT = 10000


def _ephemeral_low() -> int | None:
    """The lowest port the kernel hands out for `bind(0)` and outgoing connections, if known."""
    try:
        low = int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return low if low > LOWEST_FIXED_PORT + 1000 else None


def _free_ports(bind: str, count: int) -> list[int]:
    """Free ports for the bundle to keep. Where the kernel's ephemeral range is known they are
    picked below it, so no port the OS picks later (a `bind(0)`, an outgoing connection) can
    take a bundle's fixed port before its listeners start; elsewhere the OS picks them."""
    low = _ephemeral_low()
    if low is not None:
        chosen: list[int] = []
        rng = random.SystemRandom()
        for _ in range(count * 50):
            port = rng.randrange(LOWEST_FIXED_PORT, low)
            if port not in chosen and _bindable(bind, port):
                chosen.append(port)
                if len(chosen) == count:
                    return chosen
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET)
            s.bind((bind, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _bindable(bind: str, port: int) -> bool:
    probe = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET)
    try:
        probe.bind((bind, port))
    except OSError:
        return False
    finally:
        probe.close()
    return True


# -- writing ---------------------------------------------------------------------------------


def create_bundle(
    out: str | Path,
    issuer_url: str | None = None,
    bind: str | None = None,
    anonymous_discovery: bool = False,
    fixtures: str | Path | None = None,
    shared_port: int | None = None,
    force: bool = False,
    advertise_host: str | None = None,
    cluster_urls: Mapping[str, str] | None = None,
) -> Bundle:
    """Write a bundle into `out`: an empty or new folder, or any folder with `force` (the
    bundle's own files in it are replaced; new keys and ports)."""
    root = Path(out)
    bind = default_bind(bind, advertise_host, cluster_urls)
    _claim_folder(root, force)
    docs = read_documents(fixtures if fixtures is not None else default_fixtures_dir())
    specs = fake_cluster_specs(docs)
    placements = plan_placements([s.name for s in specs], issuer_url, bind, shared_port)
    placements = reach(placements, advertise_host, cluster_urls or {})
    clusters = build_clusters(specs, None, _clock())
    state = StateDir(root)
    for name, cluster in clusters.items():
        cluster.save_secrets(state.cluster_dir(name))
        write_private_file(state.cluster_ca_file(name), cluster.ca.cert_pem, 0o644)
    variables = {f"clusters.{n}.url": p.url for n, p in placements.items()}
    served = [d for d in docs if d.kind != FAKE_CLUSTER_KIND]
    manifests = [d.data for d in substitute(served, variables)]
    header = (
        "# Generated by `esi-conformance bundle`: load these into the server under test.\n"
        "# Standard CRDs only; URLs point at the harness's fake clusters.\n"
    )
    (root / MANIFESTS_FILE).write_text(
        header + yaml.safe_dump_all(manifests, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    cluster_docs = [d.data for d in docs if d.kind == FAKE_CLUSTER_KIND]
    (root / CLUSTERS_FILE).write_text(
        "# The harness's fake clusters (not for the server under test).\n"
        + yaml.safe_dump_all(cluster_docs, sort_keys=False),
        encoding="utf-8",
    )
    workloads = workload_table(clusters)
    (root / KUBERNETES_FILE).write_text(
        "# Generated by `esi-conformance bundle`: apply before manifests.yaml. The Namespaces the\n"
        "# manifests use, and the ServiceAccounts and Pods the harness's tokens name (the server\n"
        "# looks the caller's Pod or ServiceAccount up by name when it records a credential).\n"
        + yaml.safe_dump_all(kubernetes_objects(manifests, workloads), sort_keys=False),
        encoding="utf-8",
    )
    spiffe = _write_spiffe(root, manifests)
    idp_names = ("okta", "pingone")
    idps = write_bundle_idps(
        root, bind, dict(zip(idp_names, _free_ports(bind, len(idp_names)), strict=True)), _clock()
    )
    info = {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "issuer_url": issuer_url,
        "bind": bind,
        "anonymous_discovery": anonymous_discovery,
        "clusters": {
            n: {
                **p.to_dict(),
                "issuer": clusters[n].issuer,
                "ca_file": f"clusters/{n}/ca.crt",
                # discovery and JWKS for anyone, bearer ignored (fixtures/README.md)
                "public_issuer": clusters[n].public_issuer,
            }
            for n, p in placements.items()
        },
        "spiffe": {
            "trust_bundle": "spiffe/bundle.pem",
            "trust_domains": sorted(spiffe_trust_domains(manifests)),
            "svids": sorted(spiffe),
        },
        "workloads": workloads,
        "idps": idps,
        "upstreams": [{"name": n, "kind": FAKE_CLUSTER_KIND} for n in placements]
        + [{"name": n, "kind": IDP_KIND} for n in idps],
    }
    (root / BUNDLE_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    (root / "README.md").write_text(vendor_readme(info), encoding="utf-8")
    return Bundle.load(root)


def default_bind(
    bind: str | None, advertise_host: str | None, cluster_urls: Mapping[str, str] | None
) -> str:
    """Loopback unless the URLs are for another machine (`--advertise-host`, `--cluster-url`)."""
    if bind is not None:
        return bind
    return "0.0.0.0" if advertise_host or cluster_urls else "127.0.0.1"


def _claim_folder(root: Path, force: bool) -> None:
    """Refuse to write over anything unless asked: a kept bundle's keys are its identity."""
    if root.exists() and not root.is_dir():
        raise BundleError(f"{root} is a file; choose a folder for --out")
    if root.is_dir() and any(root.iterdir()):
        if not force:
            what = "a bundle" if (root / BUNDLE_FILE).exists() else "files"
            raise BundleError(
                f"{root} already holds {what}; keep it and run `esi-conformance server "
                f"--bundle {root}`, choose an empty folder, or pass --force to replace it "
                "(new keys and ports: load its manifests into the server again)"
            )
        for name in OWN_ENTRIES:
            entry = root / name
            if entry.is_dir():
                shutil.rmtree(entry)
            elif entry.exists():
                entry.unlink()
    root.mkdir(parents=True, exist_ok=True)


def reach(
    placements: Mapping[str, Placement], advertise_host: str | None, cluster_urls: Mapping[str, str]
) -> dict[str, Placement]:
    """The placements with the URLs a server elsewhere (a container, a kind cluster) can reach.

    `advertise_host`: every URL names that host (ports unchanged). `cluster_urls`: one cluster's
    URL exactly (`https://HOST[:PORT]`, 443 without a port); the harness listens on its port.
    """
    unknown = sorted(set(cluster_urls) - set(placements))
    if unknown:
        raise BundleError(
            f"--cluster-url names no fake cluster: {', '.join(unknown)}; "
            f"clusters: {', '.join(placements)}"
        )
    out = dict(placements)
    if advertise_host is not None:
        host = advertise_host.strip("[]")
        if not host or "/" in host or (":" in host and not _is_ip(host)):
            raise BundleError(
                f"--advertise-host must be a host name or address, got {advertise_host!r}"
            )
        out = {
            n: dataclasses.replace(
                p, url=f"https://{_url_host(host)}:{p.bind_port}", server_name=host
            )
            for n, p in out.items()
        }
    for name, url in cluster_urls.items():
        parts = urlsplit(url)
        cluster_host = _bare_https_host(parts)
        if cluster_host is None:
            raise BundleError(f"--cluster-url {name}=URL must be https://HOST[:PORT], got {url!r}")
        port = parts.port or 443
        shown = f"https://{_url_host(cluster_host)}" + (f":{parts.port}" if parts.port else "")
        out[name] = dataclasses.replace(
            out[name], url=shown, bind_port=port, server_name=cluster_host
        )
    return out


def spiffe_trust_domains(manifests: Iterable[Mapping[str, Any]]) -> set[str]:
    return {
        str((d.get("spec") or {}).get("trustDomain"))
        for d in manifests
        if d.get("kind") == "SpiffeFederation"
    }


def _spiffe_ids(manifests: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    out = {}
    for doc in manifests:
        spiffe = ((doc.get("spec") or {}).get("subject") or {}).get("spiffe") or {}
        if doc.get("kind") == "Authorization" and spiffe.get("spiffeID"):
            out[str(doc["metadata"]["name"])] = str(spiffe["spiffeID"])
    return out


def _write_spiffe(root: Path, manifests: list[dict[str, Any]]) -> dict[str, str]:
    folder = root / "spiffe"
    ca = CertificateAuthority.create("esi-conformance SPIFFE CA")
    ca.save(folder / "ca")
    write_private_file(folder / "bundle.pem", ca.cert_pem, 0o644)
    authority = SpiffeAuthority("example.org", ca)
    ids = _spiffe_ids(manifests)
    for name, spiffe_id in ids.items():
        cert, key = authority.issue_svid(spiffe_id)
        write_private_file(folder / "svids" / f"{name}.crt", cert, 0o644)
        write_private_file(folder / "svids" / f"{name}.key", key)
    return ids


def _clock() -> Any:
    from mockserver.clock import CLOCK

    return CLOCK


# -- reading ---------------------------------------------------------------------------------


@dataclass
class Bundle:
    """A bundle as written: its placements, manifests, identities and SPIFFE authority."""

    root: Path
    info: dict[str, Any]
    documents: list[dict[str, Any]]
    cluster_documents: list[Document]

    @classmethod
    def load(cls, root: str | Path) -> Bundle:
        base = Path(root)
        try:
            info = json.loads((base / BUNDLE_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BundleError(
                f"{base} is not a bundle (no {BUNDLE_FILE}); write one with "
                "`esi-conformance bundle --out DIR`"
            ) from None
        if info.get("schema_version") != SCHEMA_VERSION:
            raise BundleError(
                f"{base / BUNDLE_FILE}: unsupported schema_version {info.get('schema_version')!r}"
            )
        text = (base / MANIFESTS_FILE).read_text(encoding="utf-8")
        documents = [d for d in yaml.safe_load_all(text) if d]
        return cls(base, info, documents, read_documents(base / CLUSTERS_FILE))

    @property
    def placements(self) -> dict[str, Placement]:
        return {
            n: Placement(c["url"], c["bind_host"], int(c["bind_port"]), c["server_name"])
            for n, c in self.info["clusters"].items()
        }

    @property
    def variables(self) -> dict[str, str]:
        return {f"clusters.{n}.url": p.url for n, p in self.placements.items()}

    @property
    def spiffe(self) -> SpiffeAuthority:
        folder = self.root / "spiffe" / "ca"
        if not CertificateAuthority.exists(folder):
            raise BundleError(f"{folder}: the bundle's SPIFFE CA is missing")
        return SpiffeAuthority("example.org", CertificateAuthority.load(folder))


# -- serving the fake clusters again ---------------------------------------------------------


class BundleClusters:
    """The bundle's fake clusters, started on the bundle's addresses with its keys and CAs."""

    def __init__(self, bundle: Bundle | str | Path, clock: Any = None) -> None:
        self.bundle = bundle if isinstance(bundle, Bundle) else Bundle.load(bundle)
        self.clock = clock or _clock()
        self.clusters: dict[str, FakeCluster] = {}
        self._listeners: list[Listener] = []
        self._set: ClusterSet | None = None
        self._idps = BundleIdps(self.bundle.root, self.bundle.info.get("idps") or {}, self.clock)
        self.idps: IdentityProviders | None = None
        """The bundle's fake Okta and PingOne, served while the clusters are."""

    @property
    def cluster_set(self) -> ClusterSet:
        if self._set is None:
            raise BundleError("the bundle's fake clusters are not started")
        return self._set

    def start(self) -> BundleClusters:
        placements = self.bundle.placements
        anonymous = bool(self.bundle.info.get("anonymous_discovery"))
        specs = []
        for spec in fake_cluster_specs(self.bundle.cluster_documents):
            p = placements[spec.name]
            specs.append(
                dataclasses.replace(
                    spec,
                    listen_host=p.bind_host,
                    listen_port=p.bind_port,
                    extra_names=(*spec.extra_names, p.server_name),
                    jwks_uri_host=f"{_url_host(p.server_name)}:{p.bind_port}",
                    anonymous_discovery=anonymous or spec.anonymous_discovery,
                )
            )
        self.clusters = build_clusters(specs, StateDir(self.bundle.root), self.clock)
        groups: dict[tuple[str, int], list[str]] = {}
        for name, p in placements.items():
            groups.setdefault((p.bind_host, p.bind_port), []).append(name)
        try:
            for (host, port), names in groups.items():
                if len(names) == 1:
                    self._start_one(self.clusters[names[0]], host, port)
                else:
                    self._start_shared(names, host, port)
        except BaseException:
            self.stop()
            raise
        self._set = ClusterSet(self.clusters)
        try:
            self.idps = self._idps.start()
        except BaseException:
            self.stop()
            raise
        return self

    def idp_routes(self) -> dict[str, str]:
        """The fake IdPs' public host names → where they listen (what a vendor maps)."""
        return self._idps.routes()

    def _start_one(self, cluster: FakeCluster, host: str, port: int) -> None:
        check_port(f"fake cluster {cluster.name}", host, port)
        try:
            cluster.start()
        except (OSError, SystemExit) as exc:  # werkzeug exits on a taken port
            raise BundleError(
                port_problem(f"fake cluster {cluster.name}", host, port, exc)
            ) from None

    def _start_shared(self, names: list[str], host: str, port: int) -> None:
        by_name = {self.bundle.placements[n].server_name: self.clusters[n] for n in names}
        contexts = {sn: server_context(c.server_cert()) for sn, c in by_name.items()}
        first = next(iter(contexts.values()))
        base = server_context(next(iter(by_name.values())).server_cert())

        def choose(sock: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
            sock.context = contexts.get(server_name or "", first)

        base.sni_callback = choose
        apps = {sn: c.wsgi_app() for sn, c in by_name.items()}

        def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
            host_header = environ.get("HTTP_HOST", "").rsplit(":", 1)[0].strip("[]")
            app = apps.get(host_header)
            if app is None:
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"no fake cluster is named by this Host\n"]
            return app(environ, start_response)

        check_port("fake cluster " + ", ".join(names), host, port)
        try:
            listener = Listener(
                dispatch, host=host, port=port, ssl_context=base, name=f"clusters-{port}"
            )
        except (OSError, SystemExit) as exc:
            raise BundleError(
                port_problem("fake cluster " + ", ".join(names), host, port, exc)
            ) from None
        self._listeners.append(listener.start())

    def stop(self) -> None:
        self._idps.stop()
        self.idps = None
        if self._set is not None:
            self._set.detach()
            self._set = None
        for cluster in self.clusters.values():
            cluster.stop()
        for listener in self._listeners:
            listener.stop()
        self._listeners = []

    def __enter__(self) -> BundleClusters:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
