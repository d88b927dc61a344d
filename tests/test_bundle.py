"""The vendor bundle: what it writes, how its clusters come back, and a vendor run end to end."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance.bundle import (
    Bundle,
    BundleClusters,
    BundleError,
    create_bundle,
    plan_placements,
)
from mockserver.clock import CLOCK
from mockserver.federation.app import create_app
from mockserver.federation.context import FederationContext, Registry
from mockserver.federation.modes import Behaviour
from mockserver.manifests import build_model, fake_cluster_specs, parse_documents
from mockserver.runtime import build_clusters
from mockserver.serving import Listener
from mockserver.state import StateDir


class VendorServer:
    """A stand-in vendor server: the federation app built only from the bundle's manifests.yaml,
    fetching keys from the bundle's fake clusters over HTTPS like any server would. `clusters`
    stand for the server's own Kubernetes API (owner Pod and ServiceAccount lookups)."""

    def __init__(self, bundle_dir: Path, clusters: dict, quirks: tuple[str, ...] = ()) -> None:
        text = (bundle_dir / "manifests.yaml").read_text(encoding="utf-8")
        self.behaviour = Behaviour(quirks)
        model = build_model(parse_documents(text, "manifests.yaml"))
        context = FederationContext(
            registry=Registry(model, self.behaviour), clusters=clusters, behaviour=self.behaviour
        )
        self.listener = Listener(create_app(context, "http"), name="vendor").start()

    def stop(self) -> None:
        self.listener.stop()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Bundle:
    return create_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def clusters(bundle):
    with BundleClusters(bundle) as started:
        yield started


def test_bundle_writes_standard_manifests_pointing_at_the_placements(bundle):
    docs = [d for d in yaml.safe_load_all((bundle.root / "manifests.yaml").read_text()) if d]
    kinds = {d["kind"] for d in docs}
    assert "FakeCluster" not in kinds
    assert {
        "KubernetesFederation",
        "SpiffeFederation",
        "ClusterSecretStore",
        "Authorization",
        "Password",
        "ClusterGenerator",
        "Secret",
    } <= kinds
    urls = {
        d["metadata"]["name"]: d["spec"]["url"] for d in docs if d["kind"] == "KubernetesFederation"
    }
    placements = bundle.placements
    assert urls == {name: p.url for name, p in placements.items()}
    assert all(p.url == f"https://127.0.0.1:{p.bind_port}" for p in placements.values())
    assert len({p.bind_port for p in placements.values()}) == 4
    assert "${" not in (bundle.root / "manifests.yaml").read_text()


def test_bundle_private_files_are_0600_and_public_ones_readable(bundle):
    private = [
        p
        for p in bundle.root.rglob("*")
        if p.is_file()
        and (p.name.endswith(("-key.pem", ".key")) or p.parent.name == "keys" or p.name == "ca.pem")
    ]
    assert private and all(p.stat().st_mode & 0o777 == 0o600 for p in private)
    assert (bundle.root / "clusters" / "alpha" / "ca.crt").stat().st_mode & 0o777 == 0o644
    assert (bundle.root / "spiffe" / "bundle.pem").read_bytes().startswith(b"-----BEGIN CERT")
    assert (bundle.root / "spiffe" / "svids" / "spiffe-frontend.crt").exists()


def test_bundle_readme_names_the_hooks_anonymous_discovery_and_the_port_limit(bundle):
    text = (bundle.root / "README.md").read_text()
    assert "--anonymous-discovery" in text
    assert "§6 D18" in text and "--issuer-url https://HOST" in text
    assert "hooks" in text
    for p in bundle.placements.values():
        assert p.url in text


def test_placements_for_issuer_urls():
    names = ["alpha", "beta"]
    with_port = plan_placements(names, "https://fed.example.test:9443", "0.0.0.0")
    assert [(p.url, p.bind_host, p.bind_port, p.server_name) for p in with_port.values()] == [
        ("https://fed.example.test:9443", "0.0.0.0", 9443, "fed.example.test"),
        ("https://fed.example.test:9444", "0.0.0.0", 9444, "fed.example.test"),
    ]
    no_port = plan_placements(names, "https://fed.example.test", "127.0.0.1")
    assert [(p.url, p.bind_port, p.server_name) for p in no_port.values()] == [
        ("https://alpha.fed.example.test", 443, "alpha.fed.example.test"),
        ("https://beta.fed.example.test", 443, "beta.fed.example.test"),
    ]
    for bad in ("http://x.test", "https://x.test/path", "https://127.0.0.1"):
        with pytest.raises(BundleError):
            plan_placements(names, bad, "127.0.0.1")


def _unstarted_clusters(bundle: Bundle) -> dict:
    """The bundle's clusters as in-memory objects (keys, pods), without listening."""
    return build_clusters(
        fake_cluster_specs(bundle.cluster_documents), StateDir(bundle.root), CLOCK
    )


def test_clusters_come_back_with_the_same_keys_and_addresses(bundle, clusters):
    kids = {n: [k.kid for k in c.keys] for n, c in clusters.clusters.items()}
    assert {n: [k.kid for k in c.keys] for n, c in _unstarted_clusters(bundle).items()} == kids
    assert {n: c.url for n, c in clusters.clusters.items()} == {
        n: p.url for n, p in bundle.placements.items()
    }


def test_a_taken_port_is_a_clear_error(bundle, clusters):
    with pytest.raises(
        BundleError,
        match=r"cannot listen on 127\.0\.0\.1:\d+ for fake cluster "
        r"alpha.*write a new bundle",
    ):
        BundleClusters(bundle).start()


def test_a_taken_port_stops_the_run_before_any_scenario(bundle, clusters, tmp_path):
    """While the bundle's ports are taken, preflight prints one line and exits 2."""
    done = _server_cli(
        "--target",
        "http://127.0.0.1:9",
        "--bundle",
        str(bundle.root),
        "--requirement",
        "SRV-AUTH-001",
        "--report-dir",
        str(tmp_path),
    )
    port = bundle.placements["alpha"].bind_port
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"esi-conformance server: cannot listen on 127.0.0.1:{port} for fake cluster alpha: "
        "Address already in use. The bundle fixed this address; stop whatever uses the port, "
        "or write a new bundle (`esi-conformance bundle --out DIR`) and load its manifests.yaml "
        "again.\n"
    )
    assert not (tmp_path / "results.json").exists()


def test_shared_port_serves_each_cluster_by_server_name(tmp_path):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    made = create_bundle(
        tmp_path, issuer_url="https://fed.example.test", anonymous_discovery=True, shared_port=port
    )
    with BundleClusters(made) as started:
        for name in ("alpha", "beta"):
            cluster = started.clusters[name]
            ctx = ssl.create_default_context(cadata=cluster.ca.cert_pem.decode())
            host = f"{name}.fed.example.test"
            with (
                socket.create_connection(("127.0.0.1", port)) as raw,
                ctx.wrap_socket(raw, server_hostname=host) as tls,
            ):
                tls.sendall(
                    f"GET /openid/v1/jwks HTTP/1.1\r\nHost: {host}\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
                data = b""
                while chunk := tls.recv(65536):
                    data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            assert [k["kid"] for k in json.loads(body)["keys"]] == [k.kid for k in cluster.keys]


def _server_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", "server", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_bundle_then_server_against_a_vendor_server(tmp_path):
    out = tmp_path / "bundle"
    done = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "bundle", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"load {out / 'manifests.yaml'}" in done.stdout
    made = Bundle.load(out)
    # An expected failure that passes is an XPASS, reported but never failing the run.
    expected = tmp_path / "expected.yaml"
    expected.write_text("- {id: SRV-GEN-001, reason: shows that an XPASS does not fail a run}\n")
    vendor = VendorServer(out, _unstarted_clusters(made))
    defective = VendorServer(out, _unstarted_clusters(made), quirks=("kidless-panic",))
    try:
        good = _server_cli(
            "--target",
            vendor.listener.url,
            "--bundle",
            str(out),
            "--report-dir",
            str(tmp_path / "good"),
            "--expected-failures",
            str(expected),
        )
        bad = _server_cli(
            "--target",
            defective.listener.url,
            "--bundle",
            str(out),
            "--report-dir",
            str(tmp_path / "bad"),
            "--profile",
            "core",
            "--expected-failures",
            str(expected),
        )
    finally:
        vendor.stop()
        defective.stop()
    assert good.returncode == 0, good.stdout[-3000:]
    results = json.loads((tmp_path / "good" / "results.json").read_text())
    assert results["exit_status"] == 0
    statuses = {r["id"]: r["status"] for r in results["requirements"]}
    assert statuses["SRV-AUTH-001"] == "PASS"
    assert statuses["SRV-AUTHZ-006"] == "SKIP"  # needs state hooks
    assert {p.name for p in (tmp_path / "good").iterdir()} == {
        "junit.xml",
        "results.json",
        "report.html",
        "pytest.log",
    }
    assert bad.returncode == 1
    failed = [
        r
        for r in json.loads((tmp_path / "bad" / "results.json").read_text())["requirements"]
        if r["status"] == "FAIL"
    ]
    assert [r["id"] for r in failed] == ["SRV-AUTH-008"]
    assert "expected response, got no-response" in failed[0]["reason"]
    assert "\nFAIL  SRV-AUTH-008     " in bad.stdout
    assert bad.stdout.count("expected response, got no-response") == 1
