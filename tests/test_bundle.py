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
from tests.test_protocol_doc import FOREIGN_SOURCES


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
    assert len({p.bind_port for p in placements.values()}) == 5
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


def test_bundle_readme_is_self_contained(bundle):
    text = (bundle.root / "README.md").read_text()
    assert "--anonymous-discovery" in text
    assert "D18 `sni-with-port`" in text and "--issuer-url https://HOST" in text
    assert "backend_fault: {url:" in text  # the hooks format itself, not a pointer to it
    assert "kubectl apply -f kubernetes.yaml\n    kubectl apply -f manifests.yaml" in text
    assert "--advertise-host HOST" in text and "--cluster-url NAME=URL" in text
    assert "$(esi-mock token --state-dir <this folder> --cluster alpha" in text
    for p in bundle.placements.values():
        assert p.url in text
    # Nothing the vendor does not have: no project document, no reference file.
    for absent in ("docs/", *FOREIGN_SOURCES, "§"):
        assert absent not in text


def test_bundle_carries_namespaces_service_accounts_and_pods(bundle):
    objects = list(yaml.safe_load_all((bundle.root / "kubernetes.yaml").read_text()))
    kinds = [o["kind"] for o in objects]
    namespaces = [o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"]
    assert kinds[: len(namespaces)] == ["Namespace"] * len(namespaces)  # namespaces first
    assert namespaces == [
        "a",
        "apps",
        "ops",
        "payments",
        "team",
        "team-a",
        "team-a-2",
        "team-b",
        "tools",
        "web",
    ]
    manifests = [d for d in yaml.safe_load_all((bundle.root / "manifests.yaml").read_text()) if d]
    used = {d["metadata"].get("namespace") for d in manifests} - {None}
    assert used <= set(namespaces)
    pods = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o
        for o in objects
        if o["kind"] == "Pod"
    }
    web = pods[("team-a", "web-7d9f8b6c5-x2x4q")]
    assert web["spec"]["serviceAccountName"] == "web"
    assert web["metadata"]["annotations"] == {
        "conformance.esi-federation.dev/fake-cluster": "alpha",
        "conformance.esi-federation.dev/token-uid": "0c8e7d6a-2f3b-4a1c-8d9e-7a6b5c4d3e01",
    }
    accounts = [
        (o["metadata"]["namespace"], o["metadata"]["name"])
        for o in objects
        if o["kind"] == "ServiceAccount"
    ]
    assert len(accounts) == len(set(accounts))  # beta's team-a/web is alpha's name: listed once
    assert ("payments", "api") in accounts and ("team-a", "web") in accounts
    gamma_pod = bundle.info["workloads"]["gamma"]["pods"][0]
    assert gamma_pod["name"] == "ci-runner-1" and gamma_pod["uid"]  # the UID its tokens carry
    assert bundle.info["upstreams"] == [
        {"name": n, "kind": "FakeCluster"} for n in ("alpha", "beta", "gamma", "delta", "epsilon")
    ] + [{"name": n, "kind": "FakeIdentityProvider"} for n in ("okta", "pingone")]
    public = {n: c["public_issuer"] for n, c in bundle.info["clusters"].items()}
    assert public == {
        "alpha": False,
        "beta": False,
        "gamma": False,
        "delta": False,
        "epsilon": True,
    }


def test_a_bundle_folder_is_never_replaced_silently(bundle, tmp_path):
    before = (bundle.root / "bundle.json").read_text()
    with pytest.raises(BundleError) as refused:
        create_bundle(bundle.root)
    assert str(refused.value) == (
        f"{bundle.root} already holds a bundle; keep it and run `esi-conformance server "
        f"--bundle {bundle.root}`, choose an empty folder, or pass --force to replace it "
        "(new keys and ports: load its manifests into the server again)"
    )
    assert (bundle.root / "bundle.json").read_text() == before
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(BundleError, match=r"already holds files; .*--force"):
        create_bundle(other)
    create_bundle(other, force=True)
    assert (other / "notes.txt").read_text() == "mine"  # only the bundle's own files go
    first_ca = (other / "clusters" / "alpha" / "ca.crt").read_bytes()
    create_bundle(other, force=True)
    assert (other / "clusters" / "alpha" / "ca.crt").read_bytes() != first_ca  # new keys


def test_cli_refuses_a_second_bundle_in_the_same_folder(bundle):
    done = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "bundle", "--out", str(bundle.root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"esi-conformance bundle: {bundle.root} already holds a bundle")


def test_advertise_host_and_cluster_url_make_clusters_reachable_from_elsewhere(tmp_path):
    made = create_bundle(
        tmp_path / "b",
        advertise_host="host.docker.internal",
        cluster_urls={"beta": "https://beta.kind.test:9443"},
    )
    placements = made.placements
    alpha = placements["alpha"]
    assert alpha.url == f"https://host.docker.internal:{alpha.bind_port}"
    assert (alpha.bind_host, alpha.server_name) == ("0.0.0.0", "host.docker.internal")
    beta = placements["beta"]
    assert (beta.url, beta.bind_host, beta.bind_port, beta.server_name) == (
        "https://beta.kind.test:9443",
        "0.0.0.0",
        9443,
        "beta.kind.test",
    )
    urls = {
        d["metadata"]["name"]: d["spec"]["url"]
        for d in yaml.safe_load_all((made.root / "manifests.yaml").read_text())
        if d and d["kind"] == "KubernetesFederation"
    }
    assert urls["alpha"] == alpha.url and urls["beta"] == "https://beta.kind.test:9443"
    with pytest.raises(BundleError, match=r"--cluster-url names no fake cluster: omega; "):
        create_bundle(tmp_path / "c", cluster_urls={"omega": "https://x.test"})
    with pytest.raises(BundleError, match=r"--cluster-url alpha=URL must be https://"):
        create_bundle(tmp_path / "d", cluster_urls={"alpha": "http://x.test"})


def test_cli_advertise_host_warns_that_the_clusters_listen_beyond_loopback(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance.cli",
            "bundle",
            "--out",
            str(tmp_path / "b"),
            "--advertise-host",
            "10.0.0.5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "esi-conformance bundle: warning: the fake clusters will listen on 0.0.0.0, beyond this "
        "machine; use it only on a network you trust\n"
    )
    assert "  alpha    https://10.0.0.5:" in done.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance.cli",
            "bundle",
            "--out",
            str(tmp_path / "c"),
            "--cluster-url",
            "alpha",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (bad.returncode, bad.stderr) == (
        2,
        "esi-conformance bundle: --cluster-url expects NAME=URL (e.g. "
        "alpha=https://host:9443), got 'alpha'\n",
    )


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


def test_bundle_ports_are_kept_out_of_the_kernels_ephemeral_range(tmp_path, monkeypatch):
    """No port the OS picks later (another test's listener, an outgoing connection) can take a
    bundle's fixed port before its fake clusters start; without a known range the OS picks."""
    import conformance.bundle as bundle_module

    ranges = tmp_path / "ip_local_port_range"
    ranges.write_text("40000\t60999\n")
    monkeypatch.setattr(bundle_module, "EPHEMERAL_RANGE_FILE", ranges)
    ports = bundle_module._free_ports("127.0.0.1", 5)
    assert len(set(ports)) == 5 and all(10000 <= port < 40000 for port in ports), ports
    monkeypatch.setattr(bundle_module, "EPHEMERAL_RANGE_FILE", tmp_path / "absent")
    assert all(port >= 1024 for port in bundle_module._free_ports("127.0.0.1", 2))
