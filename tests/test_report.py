"""Results and reports: status folding, expected failures, exit rule, and the three writers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from conformance.report import (
    junit_xml,
    report_html,
    results_json,
    terminal_summary,
    write_reports,
)
from conformance.requirements import Requirement
from conformance.results import (
    ERROR,
    FAIL,
    PASS,
    SKIP,
    XFAIL,
    XPASS,
    Evidence,
    ExpectedFailuresError,
    RunMetadata,
    RunResult,
    ScenarioResult,
    exit_status,
    load_expected_failures,
    requirement_result,
)

MUST = Requirement(
    "SRV-AUTH-008", "MUST-SEC", "AUTH", "A kid-less token gets a 401 response.", "S12"
)
PLAIN_MUST = Requirement("SRV-HTTP-004", "MUST", "HTTP", "Unauthenticated is 401.", "S2")
SHOULD = Requirement("SRV-AUTH-013", "SHOULD", "AUTH", "Wrong audience is 401.", "S16")
META = RunMetadata(
    tool="esi-conformance",
    version="0.1.0",
    target="http://127.0.0.1:8000",
    started="2025-01-01T00:00:00Z",
    finished="2025-01-01T00:00:05Z",
    profile="core",
    level="must",
    settings={"token": "<redacted>"},
)


def scenario(status: str, message: str = "", evidence: tuple[Evidence, ...] = ()):
    return ScenarioResult(f"sc-{status.lower()}", status, message, evidence, 0.25)


def run_of(*results) -> RunResult:
    return RunResult(META, tuple(results))


@pytest.mark.parametrize(
    ("statuses", "folded"),
    [
        ((PASS, PASS), PASS),
        ((PASS, SKIP), PASS),
        ((SKIP, SKIP), SKIP),
        ((PASS, FAIL), FAIL),
        ((FAIL, ERROR), ERROR),
        ((SKIP, ERROR, PASS), ERROR),
    ],
)
def test_status_folds_up_the_ladder(statuses, folded):
    result = requirement_result(MUST, [scenario(s) for s in statuses])
    assert result.status == folded


def test_no_scenario_is_skip_with_the_reason():
    result = requirement_result(MUST, [], skip_reason="needs mtls: no mTLS target configured")
    assert (result.status, result.reason) == (SKIP, "needs mtls: no mTLS target configured")


def test_expected_failures_give_xfail_and_xpass_but_never_hide_errors():
    expected = {MUST.id: "real server drops the connection (B3)"}
    assert requirement_result(MUST, [scenario(FAIL)], expected).status == XFAIL
    xpass = requirement_result(MUST, [scenario(PASS)], expected)
    assert xpass.status == XPASS
    assert xpass.reason == "passed although listed as an expected failure; remove the entry"
    assert requirement_result(MUST, [scenario(ERROR)], expected).status == ERROR
    assert requirement_result(MUST, [], expected, "no mtls").status == SKIP


@pytest.mark.parametrize(
    ("requirement", "status", "code"),
    [
        (MUST, PASS, 0),
        (MUST, FAIL, 1),
        (MUST, ERROR, 1),
        (MUST, SKIP, 0),
        (PLAIN_MUST, FAIL, 1),
        (PLAIN_MUST, PASS, 0),
        (SHOULD, FAIL, 0),
        (SHOULD, ERROR, 1),
        (SHOULD, PASS, 0),
        (SHOULD, SKIP, 0),
    ],
)
def test_exit_status_rule(requirement, status, code):
    assert exit_status(run_of(requirement_result(requirement, [scenario(status)]))) == code


def test_exit_status_with_expected_failures():
    expected = {MUST.id: "known", SHOULD.id: "known"}
    xfail = requirement_result(MUST, [scenario(FAIL)], expected)
    xpass = requirement_result(SHOULD, [scenario(PASS)], expected)
    assert exit_status(run_of(xfail, xpass)) == 0
    error = requirement_result(PLAIN_MUST, [scenario(ERROR)])
    assert exit_status(run_of(xfail, xpass, error)) == 1


def test_expected_failures_file(tmp_path):
    good = tmp_path / "xfail.yaml"
    good.write_text("- id: SRV-AUTH-008\n  reason: the real server drops the connection\n")
    assert load_expected_failures(good, {"SRV-AUTH-008"}) == {
        "SRV-AUTH-008": "the real server drops the connection"
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- id: SRV-AUTH-008\n- id: SRV-NOPE-001\n  reason: x\n"
        "- {id: SRV-AUTH-013, reason: '  '}\n- {id: SRV-HTTP-004, reason: r, why: w}\n"
    )
    with pytest.raises(ExpectedFailuresError) as info:
        load_expected_failures(bad, {"SRV-AUTH-008", "SRV-AUTH-013", "SRV-HTTP-004"})
    assert str(info.value).splitlines() == [
        f"{bad}: entry 1 (SRV-AUTH-008): reason: every expected failure needs a reason",
        f"{bad}: entry 2: id: unknown requirement SRV-NOPE-001",
        f"{bad}: entry 3 (SRV-AUTH-013): reason: every expected failure needs a reason",
        f"{bad}: entry 4: unknown field why (expected id, reason)",
    ]
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_expected_failures(empty) == {}


EVIL = '<script>alert("x")</script>'


def sample_run() -> RunResult:
    evidence = Evidence(
        "no-kid",
        {
            "method": "POST",
            "path": f"/secretstore/{EVIL}",
            "headers": {"Authorization": "Bearer <redacted>"},
        },
        {"status": 200, "body": f'"{EVIL}"\x00'},
        (f"status: expected 401, got 200 {EVIL}",),
    )
    return run_of(
        requirement_result(
            MUST, [ScenarioResult("auth-no-kid", FAIL, f"bad {EVIL}", (evidence,), 0.5)]
        ),
        requirement_result(PLAIN_MUST, [scenario(PASS)]),
        requirement_result(SHOULD, [], skip_reason="needs state-hooks: none configured"),
    )


def test_results_json_is_valid_and_complete():
    data = json.loads(results_json(sample_run()))
    assert data["metadata"]["version"] == "0.1.0"
    assert data["metadata"]["settings"] == {"token": "<redacted>"}
    assert data["exit_status"] == 1
    assert data["summary"] == {"PASS": 1, "FAIL": 1, "SKIP": 1, "ERROR": 0, "XFAIL": 0, "XPASS": 0}
    first = data["requirements"][0]
    assert (first["id"], first["status"], first["level"]) == ("SRV-AUTH-008", "FAIL", "MUST-SEC")
    assert first["scenarios"][0]["scenario"] == "auth-no-kid"
    assert first["scenarios"][0]["evidence"][0]["response"]["status"] == 200
    assert data["requirements"][2]["reason"] == "needs state-hooks: none configured"


def test_junit_is_valid_xml_with_one_testcase_per_requirement():
    root = ET.fromstring(junit_xml(sample_run()))
    assert root.tag == "testsuite"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "3",
        "1",
        "0",
        "1",
    )
    cases = root.findall("testcase")
    assert [c.get("classname") for c in cases] == ["server.AUTH", "server.HTTP", "server.AUTH"]
    assert [c.get("name") for c in cases] == [
        "SRV-AUTH-008: A kid-less token gets a 401 response",
        "SRV-HTTP-004: Unauthenticated is 401",
        "SRV-AUTH-013: Wrong audience is 401",
    ]
    failure = cases[0].find("failure")
    assert failure is not None and EVIL in failure.text and "\x00" not in failure.text
    assert cases[1].find("failure") is None and cases[1].find("skipped") is None
    assert cases[2].find("skipped").get("message") == "needs state-hooks: none configured"


def test_junit_error_and_xfail_elements():
    expected = {PLAIN_MUST.id: "known"}
    run = run_of(
        requirement_result(MUST, [scenario(ERROR, "cluster alpha did not start")]),
        requirement_result(PLAIN_MUST, [scenario(FAIL)], expected),
    )
    cases = ET.fromstring(junit_xml(run)).findall("testcase")
    assert cases[0].find("error").get("message") == "cluster alpha did not start"
    assert cases[1].find("skipped").get("message") == "expected failure: known"
    assert cases[1].find("skipped").get("type") == "xfail"


def test_junit_should_failure_is_visible_but_not_a_failure():
    run = run_of(requirement_result(SHOULD, [scenario(FAIL, "audience not checked")]))
    root = ET.fromstring(junit_xml(run))
    assert (root.get("failures"), root.get("skipped")) == ("0", "1")
    case = root.find("testcase")
    assert case.find("failure") is None
    skipped = case.find("skipped")
    assert skipped.get("type") == "should-fail"
    assert skipped.get("message") == (
        "SHOULD not met (does not fail the run): audience not checked"
    )
    status = case.find("properties/property[@name='status']")
    assert status is not None and status.get("value") == "FAIL"
    assert exit_status(run) == 0


def test_junit_class_names_differ_per_suite():
    client_req = Requirement("CLI-AUTH-001", "MUST", "AUTH", "Sends the token.", "C1")
    run = run_of(
        requirement_result(client_req, [scenario(PASS)]),
        requirement_result(SHOULD, [scenario(PASS)]),
    )
    cases = ET.fromstring(junit_xml(run)).findall("testcase")
    assert [c.get("classname") for c in cases] == ["client.AUTH", "server.AUTH"]


def test_html_escapes_everything_and_orders_failures_first():
    page = report_html(sample_run())
    assert EVIL not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.index("Failures and errors") < page.index("Skipped") < page.index("Passed (")
    assert "A kid-less token gets a 401 response." in page
    assert "needs state-hooks: none configured" in page
    assert (
        "<link" not in page
        and "src=" not in page
        and "http://" not in page.replace(META.target, "")
    )


def test_terminal_summary():
    text = terminal_summary(sample_run())
    assert text.splitlines()[0] == (
        "esi-conformance 0.1.0 against http://127.0.0.1:8000: 3 requirements, profile core"
    )
    assert "  PASS 1  FAIL 1  SKIP 1" in text
    assert "  FAIL  SRV-AUTH-008 [MUST-SEC] bad " in text
    assert text.endswith("exit status 1: a MUST requirement failed or the run had errors\n")


def test_write_reports(tmp_path):
    paths = write_reports(sample_run(), tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "junit.xml",
        "report.html",
        "results.json",
    ]
    json.loads(paths["json"].read_text())
    ET.parse(paths["junit"])
