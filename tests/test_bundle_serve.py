"""`esi-mock serve --bundle DIR` as a vendor's server that loaded the bundle, judged end to end by
`esi-conformance server --bundle DIR --hooks STATE/hooks.yaml` (the hooks file the mock writes):
every MUST passes but the fake Okta/PingOne ones, and nothing fails that is not by design."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.bundle import BundleClusters, create_bundle
from mockserver.bundlefolder import BundleFolderError, prepare_state

MUSTS = ("MUST", "MUST-SEC")
BY_DESIGN = Path(__file__).resolve().parents[1] / "conformance" / "expected" / "embedded-mock.yaml"


def command(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> Path:
    return create_bundle(tmp_path_factory.mktemp("bundle") / "b").root


@pytest.fixture(scope="module")
def served(bundle_dir, tmp_path_factory):
    """`esi-mock serve --bundle` in its own process, stopped by SIGTERM."""
    state = tmp_path_factory.mktemp("served") / "state"
    proc = subprocess.Popen(
        command("mockserver.cli", "serve", "--bundle", str(bundle_dir), "--state-dir", str(state)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = subprocess.run(
            command("mockserver.cli", "wait", "--state-dir", str(state), "--timeout", "60"),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert ready.returncode == 0, ready.stderr
        yield json.loads((state / "connection.json").read_text())
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)


@pytest.fixture(scope="module")
def suite(bundle_dir, served, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """One `esi-conformance server --bundle` run against the served bundle."""
    reports = tmp_path_factory.mktemp("reports")
    done = subprocess.run(
        command(
            "conformance.cli",
            "server",
            *("--target", served["federation_url"], "--target-mtls", served["federation_mtls_url"]),
            *("--target-ca", served["server_ca_file"], "--bundle", str(bundle_dir)),
            *("--hooks", str(Path(served["state_dir"]) / "hooks.yaml")),
            *("--expected-failures", str(BY_DESIGN), "--report-dir", str(reports)),
        ),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return done, reports


def test_served_bundle_passes_every_must(suite):
    done, reports = suite
    assert done.returncode == 0, done.stdout[-3000:]
    results = json.loads((reports / "results.json").read_text())
    assert results["metadata"]["settings"]["capabilities"] == [
        "faults",
        "mtls",
        "okta",
        "pingone",
        "state-hooks",
    ]
    statuses = {r["id"]: r["status"] for r in results["requirements"]}
    musts = [r for r in results["requirements"] if r["level"] in MUSTS]
    not_passed = {r["id"]: r["reason"] for r in musts if r["status"] != "PASS"}
    # With the hooks file, and the fake Okta and PingOne names resolved by the served mock
    # itself, every MUST and MUST-SEC requirement is judged and passes.
    assert not_passed == {}, not_passed
    assert len(musts) >= 60
    assert {i: statuses[i] for i in statuses if i.startswith("SRV-IDP-")} == {
        f"SRV-IDP-{n:03}": "PASS" for n in range(1, 11) if f"SRV-IDP-{n:03}" in statuses
    }
    # The state-hook MUSTs are judged, not skipped.
    for judged in ("SRV-GEN-002", "SRV-GEN-003", "SRV-REVOKE-003", "SRV-AUTHZ-006", "SRV-WLT-003"):
        assert statuses[judged] == "PASS", judged
    # SHOULDs: the served mock is the real server's behaviour, so its by-design failures are
    # exactly those of the embedded mock's default mode; with faults, GEN-004 and ERR-003 pass.
    assert {i for i, s in statuses.items() if s in ("FAIL", "ERROR")} == set()
    assert {i for i, s in statuses.items() if s == "XFAIL"} == {
        "SRV-TLS-001",
        "SRV-AUTH-011",
        "SRV-AUTH-014",
        "SRV-STORE-004",
    }
    assert statuses["SRV-GEN-004"] == statuses["SRV-ERR-003"] == "PASS"
    assert statuses["SRV-GEN-001"] == statuses["SRV-MTLS-001"] == "PASS"


def test_served_bundle_writes_its_hooks_file_before_it_is_ready(served):
    """`esi-mock wait` returning is enough: the hooks file names this mock's admin listener."""
    text = (Path(served["state_dir"]) / "hooks.yaml").read_text()
    assert f'apply:         {{url: "{served["admin_url"]}/hooks/apply"}}\n' in text
    assert f'reset:         {{url: "{served["admin_url"]}/hooks/reset"}}\n' in text


def test_each_step_carries_a_curl_line_that_repeats_it(bundle_dir, suite, tmp_path):
    """The curl of a passing R1 step, run as printed (esi-mock on PATH), gets the same answer;
    it carries no token and no CA, only the commands that make them from the bundle."""
    _, reports = suite
    results = json.loads((reports / "results.json").read_text())
    [step] = [
        e
        for r in results["requirements"]
        if r["id"] == "SRV-STORE-001"
        for s in r["scenarios"]
        for e in s["evidence"]
        if e["request"]["path"] == "/secretstore/app-store/secrets/plain"
    ][:1]
    curl = step["request"]["curl"]
    assert f"$(esi-mock token --state-dir {bundle_dir} --cluster alpha --sa team-a/web" in curl
    assert f"$(base64 -w0 {bundle_dir}/clusters/alpha/ca.crt)" in curl
    assert "eyJ" not in curl and "LS0t" not in curl  # neither a JWT nor a base64 PEM
    shim = tmp_path / "bin" / "esi-mock"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m mockserver.cli "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    with BundleClusters(bundle_dir):  # the harness's clusters, as during a run
        done = subprocess.run(
            ["bash", "-c", curl], capture_output=True, timeout=60, env=env, check=False
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"HTTP/1.1 200 OK\r\n")
    assert done.stdout.endswith(b'\r\n\r\n"hello"\n')


def test_served_bundle_loads_the_manifests_as_written(bundle_dir, served):
    info = json.loads((bundle_dir / "bundle.json").read_text())
    served_fixtures = Path(served["fixtures"])
    assert (served_fixtures / "10-manifests.yaml").read_text() == (
        bundle_dir / "manifests.yaml"
    ).read_text()
    # The clusters' keys are the bundle's: a token minted from the bundle folder is theirs.
    kids = {
        name: sorted(
            k.name for k in (Path(served["state_dir"]) / "clusters" / name / "keys").iterdir()
        )
        for name in info["clusters"]
    }
    assert kids == {
        name: sorted(k.name for k in (bundle_dir / "clusters" / name / "keys").iterdir())
        for name in info["clusters"]
    }


def test_esi_mock_token_mints_from_a_bundle_folder(bundle_dir, served):
    done = subprocess.run(
        command(
            "mockserver.cli",
            *("token", "--state-dir", str(bundle_dir), "--cluster", "alpha", "--sa", "team-a/web"),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.count(".") == 2
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == "system:serviceaccount:team-a:web"
    assert claims["iss"] == "https://kubernetes.default.svc.cluster.local"


def test_serve_bundle_refuses_what_is_not_a_bundle(tmp_path):
    with pytest.raises(BundleFolderError) as refused:
        prepare_state(tmp_path, tmp_path / "state")
    assert str(refused.value) == (
        f"{tmp_path} is not a bundle (no bundle.json); write one with "
        "`esi-conformance bundle --out DIR`"
    )
    done = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "serve", "--bundle", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"esi-mock: {tmp_path} is not a bundle (no bundle.json); write one with "
        "`esi-conformance bundle --out DIR`\n"
    )
