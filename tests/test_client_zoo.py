"""The client suite judges clients it has never seen: the zoo client (tests/client_zoo/, standard
library only) passes every requirement as it stands, and its mutants (tests/client_zoo/points.py,
judged by tests/test_client_mutation_score.py) make a requirement FAIL. The 23 defects the zoo
once switched by hand are registered mutants now, and each still fails the requirement it was
written for: every MUST and MUST-SEC client requirement catches one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance.client_runner import ClientMock, run_client_suite
from conformance.requirements import select
from conformance.results import FAIL, PASS, SKIP, exit_status
from tests.client_zoo.points import all_mutants
from tests.mutation.client import counted_mutants

ZOO = Path(__file__).parent / "client_zoo"
ROOT = Path(__file__).resolve().parent.parent

# The hand-picked defects of the old zoo → the registered mutant that is each, and the
# requirement that defect was written for.
LEGACY = {
    "get-method": ("method:get", "CLI-HTTP-001"),
    "no-escaping": ("path-key:unescaped", "CLI-HTTP-002"),
    "double-slash": ("url-join:keep-slash", "CLI-HTTP-003"),
    "lowercase-kind": ("path-kind:lower-case", "CLI-HTTP-004"),
    "lowercase-bearer": ("bearer-scheme:lower-case", "CLI-AUTH-001"),
    "token-newline": ("token-file:keep-newline", "CLI-AUTH-002"),
    "raw-pem-ca": ("ca-encoding:raw-pem", "CLI-AUTH-003"),
    "urlsafe-ca": ("ca-encoding:urlsafe-unpadded", "CLI-AUTH-003"),
    "delete-without-body": ("delete-body:empty", "CLI-AUTH-004"),
    "no-401-retry": ("retry:no-401-retry", "CLI-AUTH-005"),
    "empty-workload-token": ("workload-token:empty", "CLI-WLT-001"),
    "skip-verify": ("tls-verify:off", "CLI-TLS-001"),
    "no-timeout": ("timeout:none", "CLI-TLS-002"),
    "keep-quotes": ("store-answer:keep-quotes", "CLI-STORE-001"),
    "coerce-values": ("generator-answer:coerce", "CLI-GEN-001"),
    "retry-500": ("retry:after-500", "CLI-GEN-002"),
    "revoke-without-namespace": ("revoke-members:no-namespace", "CLI-REVOKE-001"),
    "null-is-failure": ("revoke-answer:null-is-failure", "CLI-REVOKE-002"),
    "output-on-404": ("on-http-4xx:partial-output", "CLI-ERR-001"),
    "garbage-200": ("store-answer:non-json-raw", "CLI-ERR-002"),
    "crash-on-drop": ("on-dropped:crash", "CLI-ERR-003"),
    "exec-on-failure": ("on-http-5xx:exec-anyway", "CLI-OUT-001"),
    "print-token": ("on-http-4xx:token-to-stderr", "CLI-OUT-002"),
}


@pytest.fixture(scope="module")
def mock():
    with ClientMock() as running:
        yield running


def zoo_adapter(folder: Path, mutant: str | None) -> Path:
    """A copy of the zoo adapter with ZOO_MUTANT set on every operation."""
    document = yaml.safe_load((ZOO / "zoo.yaml").read_text())
    name = f"zoo-{mutant.replace(':', '-')}" if mutant else "zoo"
    document["metadata"]["name"] = name
    for op in document["spec"]["operations"].values():
        op["command"] = [part.replace("{adapter_dir}", str(ZOO)) for part in op["command"]]
        if mutant:
            op["env"] = {"ZOO_MUTANT": mutant}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


def test_every_legacy_defect_is_a_counted_mutant_and_every_must_requirement_has_one():
    mutants = {m.name for m in all_mutants()}
    counted = {m.name for m in counted_mutants()}
    assert {mutant for mutant, _ in LEGACY.values()} <= counted <= mutants
    musts = {r.id for r in select(level="must", direction="client")}
    assert musts == {requirement for _, requirement in LEGACY.values()}


@pytest.mark.parametrize("defect", sorted(LEGACY))
def test_a_legacy_defect_fails_its_requirement(defect, mock, tmp_path):
    mutant, requirement = LEGACY[defect]
    run = run_client_suite(zoo_adapter(tmp_path, mutant), mock=mock, requirement_ids=[requirement])
    [result] = run.requirements
    assert (result.requirement.id, result.status) == (requirement, FAIL), result.reason
    assert exit_status(run) == 1


def test_an_unknown_mutant_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-I", str(ZOO / "zoo_client.py"), "store"],
        env={"ZOO_MUTANT": "method:reverse"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == ("zoo: unknown mutant 'method:reverse': see tests/client_zoo/points.py\n")


def test_command_line_names_the_failed_requirement_in_results_json(tmp_path):
    adapter = zoo_adapter(tmp_path, "store-answer:keep-quotes")
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance.cli",
            "client",
            "--adapter",
            str(adapter),
            "--requirement",
            "CLI-STORE-001",
            "--requirement",
            "CLI-OUT-003",
            "--report-dir",
            str(reports),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    results = json.loads((reports / "results.json").read_text())
    statuses = {r["id"]: r["status"] for r in results["requirements"]}
    assert statuses == {"CLI-STORE-001": FAIL, "CLI-OUT-003": PASS}
    assert results["exit_status"] == 1
    [store] = [r for r in results["requirements"] if r["id"] == "CLI-STORE-001"]
    assert store["reason"] == "step plain: value: delivered b'\"hello\"\\n', expected b'hello'"
    assert proc.stdout.startswith("FAIL  CLI-STORE-001    A store 200 body is decoded")
    assert proc.stdout.count("expected b'hello'") == 1
    assert sorted(p.name for p in reports.iterdir()) == ["junit.xml", "report.html", "results.json"]


def test_a_skip_for_an_undeclared_operation(mock, tmp_path):
    document = yaml.safe_load(zoo_adapter(tmp_path, None).read_text())
    del document["spec"]["operations"]["generator.revoke_of"]
    path = tmp_path / "no-revoke-of.yaml"
    path.write_text(yaml.safe_dump(document))
    run = run_client_suite(path, mock=mock, requirement_ids=["CLI-REVOKE-001"])
    [result] = run.requirements
    assert result.status == SKIP
    assert result.reason == "adapter zoo declares no generator.revoke_of operation"
