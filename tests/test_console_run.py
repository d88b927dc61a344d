"""What a run prints and writes: one progress line per requirement, each FAIL once, a last line
that agrees with the exit status, reports under reports/<suite>/ by default, pytest kept out."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.console import ProgressPrinter
from conformance.requirements import Requirement
from conformance.results import ERROR, ScenarioResult, load_expected_failures
from conformance.runner.suite import plan

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "conformance" / "expected"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_embedded_run_with_the_shipped_file_is_one_line(tmp_path):
    done = cli(
        "server",
        "--quiet",
        "--expected-failures",
        str(SHIPPED / "embedded-mock.yaml"),
        "--report-dir",
        str(tmp_path),
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "server suite: PASS 71  XFAIL 4: exit 0 (no MUST failure, no error); "
        f"report {tmp_path / 'report.html'}\n"
    )
    junit = ET.parse(tmp_path / "junit.xml").getroot()
    assert (junit.get("failures"), junit.get("errors"), junit.get("skipped")) == ("0", "0", "4")
    xfails = [c.find("skipped") for c in junit.iter("testcase") if c.find("skipped") is not None]
    assert {s.get("type") for s in xfails} == {"xfail"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "junit.xml",
        "pytest.log",
        "report.html",
        "results.json",
    ]


def test_strict_mock_passes_everything_and_its_shipped_file_is_empty(tmp_path):
    assert load_expected_failures(SHIPPED / "embedded-mock-strict.yaml") == {}
    done = cli(
        "server",
        "--quiet",
        "--strict",
        "--expected-failures",
        str(SHIPPED / "embedded-mock-strict.yaml"),
        "--report-dir",
        str(tmp_path),
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert done.stdout == (
        "server suite: PASS 75: exit 0 (no MUST failure, no error); "
        f"report {tmp_path / 'report.html'}\n"
    )


def test_progress_line_per_requirement_and_each_fail_once(tmp_path):
    done = cli(
        "server",
        "--requirement",
        "SRV-AUTH-014",
        "--requirement",
        "srv-http-004",
        "--report-dir",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        "FAIL  SRV-AUTH-014     A token without exp gets 401 on the Kubernetes (OIDC) path",
        "      step 1: status: expected 401, got 200",
        "PASS  SRV-HTTP-004     An unauthenticated request to any path, known or unknown…",
    ]
    assert done.stdout.count("expected 401, got 200") == 1
    assert lines[-1] == (
        "server suite: PASS 1  FAIL 1: exit 0 (no MUST failure, no error); "
        f"report {tmp_path / 'report.html'}"
    )
    assert "passed" not in done.stdout and "=====" not in done.stdout
    assert "1 failed" in (tmp_path / "pytest.log").read_text()


def test_pytest_trouble_is_one_line_with_the_log(tmp_path):
    done = cli("server", "--report-dir", str(tmp_path), "--", "--no-such-pytest-flag")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "esi-conformance server: pytest rejected the extra arguments (pytest exit 4); "
        f"see {tmp_path / 'pytest.log'}\n"
    )
    assert "--no-such-pytest-flag" in (tmp_path / "pytest.log").read_text()


def test_reports_go_to_reports_suite_by_default(tmp_path):
    server = cli("server", "--quiet", "--requirement", "SRV-HTTP-004", cwd=tmp_path)
    client = cli(
        "client", "--quiet", "--adapter", "reference", "--requirement", "CLI-AUTH-001", cwd=tmp_path
    )
    assert (server.returncode, client.returncode) == (0, 0), server.stderr + client.stderr
    assert server.stdout.endswith("; report reports/server/report.html\n")
    assert client.stdout == (
        "client suite: PASS 1: exit 0 (no MUST failure, no error); "
        "report reports/client/report.html\n"
    )
    for suite in ("server", "client"):
        data = json.loads((tmp_path / "reports" / suite / "results.json").read_text())
        assert data["metadata"]["tool"] == f"esi-conformance {suite}"


def test_a_harness_error_is_explained_once():
    chosen = plan(requirement_ids=["SRV-HTTP-004", "SRV-HTTP-005"])
    out = io.StringIO()
    printer = ProgressPrinter(chosen, out)
    for scenario in chosen.scenarios:
        printer(scenario, ScenarioResult(scenario.id, ERROR, "set-up failed: cluster alpha"))
    printer.finish()
    assert out.getvalue().count("set-up failed: cluster alpha") == 1
    assert "(the same error as above)" in out.getvalue()


def test_requirements_without_scenarios_are_printed_at_the_end():
    req = Requirement("SRV-HTTP-999", "SHOULD", "HTTP", "Nobody tests this yet.", "S0")
    from conformance.planning import Plan

    out = io.StringIO()
    printer = ProgressPrinter(Plan((req,), ()), out)
    printer.finish()
    assert out.getvalue() == "SKIP  SRV-HTTP-999     Nobody tests this yet\n"


def test_settings_object_drives_the_python_entry_point(tmp_path):
    from conformance.runner.api import run_server_suite
    from conformance.settings import ServerSettings

    settings = ServerSettings.build(
        requirements=["srv-auth-014"],
        expected_failures=SHIPPED / "embedded-mock.yaml",
        report_dir=tmp_path,
    )
    assert settings.requirement_ids == ("SRV-AUTH-014",)
    run = run_server_suite(settings=settings)
    assert [(r.requirement.id, r.status) for r in run.requirements] == [("SRV-AUTH-014", "XFAIL")]
    assert json.loads((tmp_path / "results.json").read_text())["summary"]["XFAIL"] == 1


def test_settings_refuse_vendor_options_without_a_target():
    import pytest

    from conformance.settings import ServerSettings, SettingsError

    with pytest.raises(SettingsError) as caught:
        ServerSettings.build(hooks="hooks.yaml")
    assert str(caught.value) == (
        "--bundle, --hooks, --target-ca and --target-mtls describe a vendor server; "
        "add --target URL"
    )
