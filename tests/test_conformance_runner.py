"""The server runner against the embedded mock: the self-test, quirks, and result classification."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys

import pytest

from conformance.cli import main
from conformance.results import ERROR, FAIL, PASS, SKIP, XFAIL, exit_status
from conformance.runner.api import EmbeddedMock, run_server_suite
from conformance.runner.hooks import NoHooks
from conformance.runner.hooksfile import HooksFileError, load_hooks
from conformance.runner.target import Target
from mockserver.admin.redaction import fingerprint
from mockserver.federation.modes import QUIRKS

KNOWN_MOCK_BUGS: set[str] = set()
"""MUST requirements the default mock fails today: none. An entry here makes the self-test
insist on the failure, so a fixed bug must be removed from it."""

QUIRK_BREAKS: dict[str, set[str]] = {
    "kidless-panic": {"SRV-AUTH-008"},
    "sticky-authorizations": {"SRV-AUTHZ-006", "SRV-AUTHZ-007"},
    "revoke-body-namespace": {"SRV-REVOKE-004", "SRV-REVOKE-005"},
    "unverified-workload-token": {"SRV-WLT-003", "SRV-WLT-004"},
    "ca-keyed-cache": {"SRV-AUTH-001"},
    # Every authenticated request fails; a representative few are checked here.
    "sni-with-port": {"SRV-AUTH-001", "SRV-STORE-001", "SRV-AUTHZ-001"},
    # These break no MUST or MUST-SEC requirement (docs/conformance.md says why).
    "first-request-401": set(),
    "random-authenticator": set(),
    "generate-then-fail": set(),
    "home-cluster-owner": set(),
    "global-oidc-lock": set(),
    "spiffe-allowlist-delete": set(),
    "random-provider-order": set(),
}
QUIRK_BREAKS.update(
    {
        # The Okta `default` server's tokens fail, so the accepted step of S20 fails.
        "okta-default-org-keys": {"SRV-IDP-001"},
        # Breaks only SRV-IDP-005 (S24), a SHOULD: a new key is unknown for an hour.
        "idp-key-cache-hour": set(),
    }
)


@pytest.fixture(scope="module")
def target():
    mock = EmbeddedMock()
    yield mock.start()
    mock.stop()


@pytest.fixture(scope="module")
def core(target, tmp_path_factory):
    report_dir = tmp_path_factory.mktemp("reports")
    return run_server_suite(target, profile="core", report_dir=report_dir), report_dir


def test_every_quirk_is_in_the_table():
    assert set(QUIRK_BREAKS) == set(QUIRKS)


def test_default_mock_passes_every_must_and_must_sec(core):
    run, _ = core
    assert {r.requirement.level for r in run.requirements} == {"MUST", "MUST-SEC"}
    failing = {r.requirement.id for r in run.requirements if r.status != PASS}
    assert failing == KNOWN_MOCK_BUGS
    assert all(r.status == FAIL for r in run.requirements if r.requirement.id in failing)


def test_reports_are_written_without_secrets(core):
    run, report_dir = core
    assert sorted(p.name for p in report_dir.iterdir()) == [
        "junit.xml",
        "report.html",
        "results.json",
    ]
    text = (report_dir / "results.json").read_text()
    data = json.loads(text)
    assert data["exit_status"] == exit_status(run)
    assert data["summary"]["PASS"] == len(run.requirements) - len(KNOWN_MOCK_BUGS)
    assert "eyJ" not in text  # no JWT (header or claims) in the evidence
    assert "LS0tLS1CRUdJTi" not in text  # no base64 PEM (ca.crt)
    assert "Bearer sha256:" in text
    assert '\\"ca.crt\\": \\"sha256:' in text


@pytest.mark.parametrize("quirk", sorted(q for q, broken in QUIRK_BREAKS.items() if broken))
def test_each_breaking_quirk_fails_its_requirements(target, quirk):
    target.hooks.set_base_quirks([quirk])
    try:
        run = run_server_suite(target, requirement_ids=QUIRK_BREAKS[quirk])
    finally:
        target.hooks.set_base_quirks([])
    assert {r.requirement.id: r.status for r in run.requirements} == dict.fromkeys(
        QUIRK_BREAKS[quirk], FAIL
    )
    assert exit_status(run) == 1


def test_a_dropped_connection_is_fail_with_the_reason(target):
    target.hooks.set_base_quirks(["kidless-panic"])
    try:
        run = run_server_suite(target, requirement_ids=["SRV-AUTH-008"])
    finally:
        target.hooks.set_base_quirks([])
    (result,) = run.requirements
    assert (result.status, result.reason) == (
        FAIL,
        "step no-kid: expected response, got no-response",
    )


def test_an_unreachable_target_is_error_not_fail(target):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    probe.close()
    nowhere = Target("nowhere", http_url=closed, clusters=target.clusters)
    run = run_server_suite(nowhere, requirement_ids=["SRV-HTTP-004", "SRV-STORE-001"])
    assert [r.status for r in run.requirements] == [ERROR, ERROR]
    assert run.requirements[0].reason.startswith(f"Unreachable: cannot connect to {closed}")
    assert exit_status(run) == 1


def test_without_hooks_or_mtls_requirements_are_skip_with_the_reason(target):
    bare = Target("bare", http_url=target.http_url, clusters=target.clusters, hooks=NoHooks())
    run = run_server_suite(
        bare, requirement_ids=["SRV-AUTHZ-006", "SRV-MTLS-003", "SRV-ERR-003", "SRV-STORE-001"]
    )
    got = {r.requirement.id: (r.status, r.reason.split(" (")[0]) for r in run.requirements}
    assert got == {
        "SRV-STORE-001": (PASS, ""),
        "SRV-MTLS-003": (SKIP, "needs an mTLS target"),
        "SRV-AUTHZ-006": (SKIP, "needs state hooks"),
        "SRV-ERR-003": (SKIP, "needs backend fault hooks"),
    }
    assert exit_status(run) == 0


def test_expected_failures_turn_fail_into_xfail(target):
    broken = sorted(QUIRK_BREAKS["sticky-authorizations"])
    target.hooks.set_base_quirks(["sticky-authorizations"])
    try:
        run = run_server_suite(
            target, requirement_ids=broken, expected_failures={r: "reproducing B4" for r in broken}
        )
    finally:
        target.hooks.set_base_quirks([])
    assert [r.status for r in run.requirements] == [XFAIL] * len(broken)
    assert exit_status(run) == 0


def test_set_up_changes_are_undone_after_each_scenario(target):
    run_server_suite(target, requirement_ids=["SRV-AUTHZ-006", "SRV-AUTH-010", "SRV-ERR-003"])
    model = target.hooks.ctx.registry.model
    assert not any(a.name.startswith("conformance-") for a in model.authorizations)
    assert type(model.cluster_secret_stores) is dict
    assert [len(c.keys) for c in target.clusters.clusters.values()] == [1, 2, 1, 1, 3]
    assert target.hooks.server.behaviour.quirks == frozenset()


def test_hooks_file_runs_commands_with_manifests_on_stdin(tmp_path):
    log = tmp_path / "applied.yaml"
    script = f"import sys, pathlib; pathlib.Path({str(log)!r}).write_text(sys.stdin.read())"
    (tmp_path / "hooks.yaml").write_text(
        json.dumps(
            {
                "apply": {"command": [sys.executable, "-c", script]},
                "delete": {"command": [sys.executable, "-c", "import sys; sys.stdin.read()"]},
                "state": {
                    "command": [sys.executable, "-c", 'print(\'[{"kind": "GeneratorState"}]\')']
                },
            }
        )
    )
    hooks = load_hooks(tmp_path / "hooks.yaml")
    assert hooks.capabilities == {"state-hooks"}
    hooks.apply([{"kind": "Authorization", "metadata": {"name": "x"}}])
    assert log.read_text() == "kind: Authorization\nmetadata:\n  name: x\n"
    assert hooks.state() == [{"kind": "GeneratorState"}]
    (tmp_path / "bad.yaml").write_text("apply: {command: []}\nlist: {url: x}\n")
    with pytest.raises(HooksFileError, match="unknown hook list"):
        load_hooks(tmp_path / "bad.yaml")


def test_list_prints_what_a_run_would_execute(capsys):
    assert main(["server", "--list", "--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "profile smoke, level all: 6 requirements, 11 scenarios"
    assert "SRV-HTTP-004     MUST     http-unauthenticated, http-unauthenticated-client" in out


def test_pytest_plugin_runs_scenarios_as_items(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "conformance.runner.plugin",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--esi-target",
            "embedded",
            "--esi-profile",
            "smoke",
            "--esi-report-dir",
            str(tmp_path),
            "-k",
            "not generator-r2-object-of-strings",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "10 passed, 1 deselected" in done.stdout
    assert "conformance summary" in done.stdout
    data = json.loads((tmp_path / "results.json").read_text())
    statuses = {r["id"]: (r["status"], r["reason"]) for r in data["requirements"]}
    assert statuses["SRV-GEN-001"] == (SKIP, "its scenarios were not selected in this run")


def test_failure_evidence_shows_fixture_values_in_clear_and_no_credential(target, tmp_path):
    """SHOULD failures of the default mock carry R1 answers as evidence: the harness's own
    fixture values (`hello`) appear in clear, as the redaction policy says; the token and the
    ca.crt appear only as fingerprints, and each step carries a curl line without either."""
    run = run_server_suite(
        target, requirement_ids=["SRV-STORE-004", "SRV-AUTH-014"], report_dir=tmp_path
    )
    assert {r.status for r in run.requirements} == {FAIL}
    results = json.loads((tmp_path / "results.json").read_text())
    steps = [e for r in results["requirements"] for s in r["scenarios"] for e in s["evidence"]]
    answers = [e["response"].get("body") for e in steps]
    assert '"hello"\n' in answers
    for step in steps:
        assert step["request"]["headers"]["Authorization"].startswith("Bearer sha256:")
        body = json.loads(step["request"]["body"])
        assert body["ca.crt"].startswith("sha256:")
        curl = step["request"]["curl"]
        assert "Bearer $(esi-mock token --state-dir STATE --cluster alpha --sa team-a/" in curl
        assert "$(base64 -w0 STATE/clusters/alpha/ca.crt)" in curl or '"ca.crt"' not in curl
    alpha = target.clusters.clusters["alpha"]
    secrets = [alpha.ca.private_key_pem.decode(), *(k.private_pem() for k in alpha.keys)]
    for report in tmp_path.iterdir():
        text = report.read_text()
        assert "eyJ" not in text  # no JWT anywhere
        assert base64.b64encode(alpha.ca.cert_pem).decode()[:40] not in text
        for secret in secrets:
            assert str(secret)[40:80] not in text


def test_a_value_the_target_answers_with_is_fingerprinted_unless_a_fixture_planted_it():
    from conformance.runner.redact import EvidenceRedactor

    r = EvidenceRedactor(clear={"hello"})
    assert r.answer("store.get", 200, b'"hello"\n') == '"hello"\n'
    vendor = fingerprint("vendor-secret")
    assert r.answer("store.get", 200, b'"vendor-secret"\n') == f'"{vendor}"\n'
    assert r.text("expected hello, got 'vendor-secret'") == f"expected hello, got '{vendor}'"
    shown = r.answer("generator.generate", 200, b'{"password":"x9!Q","username":"hello"}')
    assert json.loads(shown) == {"password": fingerprint("x9!Q"), "username": "hello"}
