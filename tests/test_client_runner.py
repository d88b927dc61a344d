"""The client runner: the shipped reference and curl clients pass every client requirement, the
command writes the three reports, evidence is redacted, and the pieces (canned answers, time
limits, judging, the scenario fields of the client direction) behave exactly as documented."""

from __future__ import annotations

import json
import os
import select as io_select
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from conformance.adapters import BUILTIN_DIR, Invocation
from conformance.client_runner import ClientMock, plan, run_client_suite
from conformance.client_runner.judge import Observation, crash_reason, judge
from conformance.client_runner.mock import respond_fault
from conformance.client_runner.process import ProcessResult, run
from conformance.report import results_json
from conformance.requirements import select
from conformance.results import PASS, SKIP, exit_status
from conformance.scenarios import ClientExpectation, ScenarioError, parse_file

ROOT = Path(__file__).resolve().parent.parent
FAST_CLIENT_TIMEOUT = {"10s": "2s", "10": "2"}


@pytest.fixture(scope="module")
def mock():
    with ClientMock() as running:
        yield running


def fast_copy(name: str, folder: Path) -> Path:
    """A shipped adapter with a 2 s client time limit (the hang scenario then takes 2 s)."""
    document = yaml.safe_load((BUILTIN_DIR / f"{name}.yaml").read_text())
    ops = list(document["spec"]["operations"].values())
    if document["spec"].get("daemon"):
        ops.append(document["spec"]["daemon"])
    for op in ops:
        command = [part.replace("{adapter_dir}", str(BUILTIN_DIR)) for part in op["command"]]
        command = [
            FAST_CLIENT_TIMEOUT.get(part, part) if command[i - 1] == "--timeout" else part
            for i, part in enumerate(command)
        ]
        if "--retry-delay" not in command and "conformance.reference_client.cli" in command:
            command[3:3] = ["--retry-delay", "50ms"]
        op["command"] = command
        op["timeout"] = 6
    path = folder / f"{name}-fast.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


def statuses(run) -> dict[str, str]:
    return {r.requirement.id: r.status for r in run.requirements}


def test_reference_client_passes_every_client_requirement(mock, tmp_path):
    run = run_client_suite(fast_copy("reference", tmp_path), mock=mock)
    assert statuses(run) == {r.id: PASS for r in select(direction="client")}
    assert exit_status(run) == 0
    text = results_json(run)
    assert "eyJhbGci" not in text  # no token (JWT header) in the evidence
    # The mock's own fixture values are shown in clear (redaction policy): what was expected.
    assert "fish & chips" in text


def test_curl_client_passes_every_requirement_its_adapter_can_run(mock, tmp_path):
    run = run_client_suite(fast_copy("curl", tmp_path), mock=mock)
    expected = {r.id: PASS for r in select(direction="client")}
    expected["CLI-OUT-001"] = SKIP  # curl-client.sh writes files; it runs no program
    assert statuses(run) == expected
    [skipped] = [r for r in run.requirements if r.status == SKIP]
    assert skipped.reason == (
        "adapter curl delivers generator.generate to files, the scenario needs env"
    )
    assert exit_status(run) == 0


@pytest.mark.parametrize("adapter", ["reference", "curl"])
def test_command_exits_0_and_writes_three_reports_with_a_shipped_adapter(adapter, tmp_path):
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance.cli",
            "client",
            "--adapter",
            adapter,
            "--profile",
            "smoke",
            "--requirement",
            "CLI-AUTH-001",
            "--report-dir",
            str(reports),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in reports.iterdir()) == ["junit.xml", "report.html", "results.json"]
    results = json.loads((reports / "results.json").read_text())
    assert results["metadata"]["tool"] == "esi-conformance client"
    assert results["metadata"]["target"] == adapter
    assert {r["id"]: r["status"] for r in results["requirements"]} == {"CLI-AUTH-001": PASS}
    assert [s["scenario"] for s in results["requirements"][0]["scenarios"]] == [
        "client-store-request",
        "client-generator-request",
    ]
    assert proc.stdout.endswith(
        f"client suite: PASS 1: exit 0 (no MUST failure, no error); report {reports}/report.html\n"
    )


def test_command_usage_errors_exit_2(tmp_path):
    def client(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "conformance.cli", "client", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    missing = client("--adapter", str(tmp_path / "none.yaml"))
    assert missing.returncode == 2
    assert missing.stderr == (
        f"esi-conformance client: {tmp_path / 'none.yaml'}: cannot read: "
        "No such file or directory\n"
    )
    unknown = client("--adapter", "reference", "--requirement", "CLI-NOPE-001")
    assert (unknown.returncode, unknown.stderr) == (
        2,
        "esi-conformance client: unknown client requirement 'CLI-NOPE-001' (IDs look like "
        "CLI-AUTH-001); `esi-conformance client --list` shows them\n",
    )
    listed = client("--adapter", "curl", "--requirement", "CLI-TLS-002", "--list")
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[1:] == [
        "CLI-TLS-002      MUST     client-server-never-answers, client-store-server-never-answers"
    ]


def test_plan_takes_client_scenarios_of_the_selected_requirements():
    chosen = plan(requirement_ids=["CLI-AUTH-005"])
    assert [r.id for r in chosen.requirements] == ["CLI-AUTH-005"]
    assert [s.id for s in chosen.scenarios] == ["client-retry-after-401"]
    every = plan()
    assert all(s.runs_in("client") for s in every.scenarios)
    assert {rid for s in every.scenarios for rid in s.requirements} >= {
        r.id for r in select(direction="client")
    }
    with pytest.raises(ValueError, match="unknown scenario IDs: nope"):
        plan(scenario_ids=["nope"])


# -- pieces --------------------------------------------------------------------------------------


def test_respond_becomes_a_fault_rule():
    assert respond_fault({"status": 404, "body": {"json": {"message": "Not Found"}}}) == {
        "count": 1,
        "action": "status",
        "status": 404,
        "content_type": "application/json",
        "headers": {},
        "body": '{"message":"Not Found"}\n',
    }
    assert respond_fault(
        {
            "status": 200,
            "headers": {"Content-Type": "text/html", "X-A": "b"},
            "body": {"text": "<p>"},
            "count": 3,
        }
    ) == {
        "count": 3,
        "action": "status",
        "status": 200,
        "content_type": "text/html",
        "headers": {"X-A": "b"},
        "body": "<p>",
    }
    assert respond_fault({"hang": True, "count": 100}) == {"count": 100, "action": "hang"}
    assert respond_fault({"drop": True}) == {"count": 1, "action": "drop-before"}
    assert respond_fault({"tls": "untrusted-ca"}) == {
        "tls": "untrusted-ca",
        "listener": "https",
        "count": None,
    }
    oversized = respond_fault({"status": 200, "body": {"oversized": 100}})["body"]
    assert (len(oversized), oversized[:2], oversized[-2:]) == (100, '"x', '"\n')


def _has_exited(pid: int) -> bool:
    """Wait (on the process itself, through a pidfd) until `pid` has exited; False if it lives
    on for five seconds."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = io_select.select([handle], [], [], 5)
        return bool(readable)
    finally:
        os.close(handle)


def test_a_client_past_its_limit_is_killed_with_its_children(tmp_path):
    pidfile = tmp_path / "child.pid"
    script = f"sleep 30 & echo $! > {pidfile}.tmp && mv {pidfile}.tmp {pidfile}; sleep 30"
    shell = Invocation(("/bin/sh", "-c", script), {}, 0.3)
    result = run(shell, tmp_path, {"PATH": "/bin:/usr/bin"})
    assert (result.timed_out, result.returncode) == (True, None)
    assert result.duration < 1
    assert _has_exited(int(pidfile.read_text()))


def _proc(
    code: int | None = 1, stderr: bytes = b"", stdout: bytes = b"", timed_out: bool = False
) -> ProcessResult:
    return ProcessResult(("client",), code, stdout, stderr, 0.1, timed_out)


def test_crashes_are_signals_tracebacks_and_panics():
    assert crash_reason(_proc(-11)) == "killed by signal 11"
    assert crash_reason(_proc(1, b"Traceback (most recent call last):\n  x\nKeyError: 1")) == (
        "stderr shows a crash: Traceback (most recent call last):\n  x\nKeyError: 1"
    )
    assert crash_reason(_proc(2, b"panic: runtime error\n\ngoroutine 1 [running]:")) is not None
    assert crash_reason(_proc(1, b"client: error: the server answered 400")) is None


def _entry(status: int, body: str) -> dict:
    return {
        "method": "POST",
        "path": "/secretstore/s/secrets/k",
        "query": "",
        "headers": {},
        "body": "{}",
        "response": {"status": status, "body": body},
    }


def test_failure_report_names_status_and_message_plain_or_json_encoded():
    expect = ClientExpectation("failure", report=("status", "message"))
    entry = _entry(400, '"key \\"k\\" not found"\n')

    def problems(stderr: bytes) -> list[str]:
        seen = Observation(_proc(1, stderr), [entry], None, None, None, None)
        return judge(expect, seen, token="t", ca_pems={})

    assert problems(b'error: 400 key "k" not found') == []
    assert problems(b'error: 400 "key \\"k\\" not found"') == []
    assert problems(b"error: 4000 bad") == [
        "the failure report does not name the status 400",
        "the failure report does not include the server's message 'key \"k\" not found'",
    ]


def test_judging_a_hang_and_a_repeated_request():
    expect = ClientExpectation("failure", must_not=("repeat-request",))
    hung = Observation(_proc(None, timed_out=True), [], None, None, None, None)
    assert judge(expect, hung, token="t", ca_pems={}) == [
        "hang: still running after the adapter's limit of 0.1 s; killed"
    ]
    after_401 = [_entry(401, '"no"\n'), _entry(401, '"no"\n')]
    seen = Observation(_proc(1), after_401, None, None, None, None)
    assert judge(expect, seen, token="t", ca_pems={}) == []
    after_500 = [_entry(500, '"x"\n'), _entry(500, '"x"\n')]
    seen = Observation(_proc(1), after_500, None, None, None, None)
    assert judge(expect, seen, token="t", ca_pems={}) == [
        "sent the request 2 times (only one retry after a 401 is allowed)"
    ]


def test_leaks_are_found_in_any_encoding():
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz"
    expect = ClientExpectation("failure", must_not=("leak-secret",))
    quoted = json.dumps({"t": token}).encode()
    seen = Observation(_proc(1, b"error: " + quoted), [], None, None, None, None)
    [problem] = judge(expect, seen, token=token, ca_pems={})
    assert problem.startswith('stderr shows a secret or the token: error: {"t": "sha256:')


# -- the client-direction scenario fields --------------------------------------------------------


def _scenario(client: str, given: str = "") -> str:
    return textwrap.dedent(f"""\
        scenarios:
          - id: client-x
            title: x
            requirements: [CLI-HTTP-001]
            direction: client
            given: {given or "[]"}
            request:
              operation: store.get
              params: {{store: app-store, key: plain}}
              identity: {{cluster: alpha, serviceAccount: team-a/web}}
            expect: {{status: 200}}
            client: {client}
        """)


def test_client_inputs_and_limits_parse():
    [scenario] = parse_file(
        _scenario(
            "{outcome: success, max_requests: 2, private_files: true, inputs: {token_file: "
            "trailing-newline, server_url: trailing-slash, program_args: [a, ''], delivery: env}}",
            "[{respond: {tls: untrusted-ca}}, {respond: {status: 200, body: {oversized: 10}, "
            "count: 3}}]",
        ),
        "scenarios/client/x.yaml",
    )
    client = scenario.steps[0].client
    assert client is not None
    assert (
        client.inputs.token_file,
        client.inputs.server_url,
        client.inputs.program_args,
        client.inputs.delivery,
    ) == ("trailing-newline", "trailing-slash", ("a", ""), "env")
    assert (client.max_requests, client.private_files) == (2, True)
    assert [a.args for a in scenario.given] == [
        {"tls": "untrusted-ca"},
        {"status": 200, "body": {"oversized": 10}, "count": 3},
    ]


def test_client_inputs_errors_name_the_field():
    where = 'scenarios/client/x.yaml: scenario "client-x"'
    with pytest.raises(ScenarioError) as info:
        parse_file(
            _scenario(
                "{outcome: success, max_requests: -1, private_files: 1, inputs: "
                "{token_file: crlf, delivery: fax, program_args: [1]}}",
                "[{respond: {tls: self-signed}}, {respond: {status: 200, hang: true}}]",
            ),
            "scenarios/client/x.yaml",
        )
    assert info.value.errors == [
        f"{where}: given[0].respond.tls: expected one of untrusted-ca, expired, wrong-name, "
        'got "self-signed"',
        f"{where}: given[1].respond: expected exactly one of status, drop, hang, tls",
        f'{where}: client.inputs.token_file: expected one of plain, trailing-newline, got "crlf"',
        f"{where}: client.inputs.program_args: expected a list of strings, got a list",
        f'{where}: client.inputs.delivery: expected one of files, stdout, env, got "fax"',
        f"{where}: client.max_requests: expected a count 0–100, got -1",
        f"{where}: client.private_files: expected true or false, got 1",
    ]
