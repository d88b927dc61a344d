"""The client suite judges clients it has never seen: the zoo client (tests/client_zoo/, standard
library only) passes every requirement as it stands, and each single defect makes the
requirement it breaks FAIL, with a non-zero exit status. Every MUST and MUST-SEC client
requirement is caught by at least one defect."""

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

ZOO = Path(__file__).parent / "client_zoo"
ROOT = Path(__file__).resolve().parent.parent

DEFECTS = {
    "get-method": "CLI-HTTP-001",
    "no-escaping": "CLI-HTTP-002",
    "double-slash": "CLI-HTTP-003",
    "lowercase-kind": "CLI-HTTP-004",
    "lowercase-bearer": "CLI-AUTH-001",
    "token-newline": "CLI-AUTH-002",
    "raw-pem-ca": "CLI-AUTH-003",
    "urlsafe-ca": "CLI-AUTH-003",
    "delete-without-body": "CLI-AUTH-004",
    "no-401-retry": "CLI-AUTH-005",
    "empty-workload-token": "CLI-WLT-001",
    "skip-verify": "CLI-TLS-001",
    "no-timeout": "CLI-TLS-002",
    "keep-quotes": "CLI-STORE-001",
    "coerce-values": "CLI-GEN-001",
    "retry-500": "CLI-GEN-002",
    "revoke-without-namespace": "CLI-REVOKE-001",
    "null-is-failure": "CLI-REVOKE-002",
    "output-on-404": "CLI-ERR-001",
    "garbage-200": "CLI-ERR-002",
    "crash-on-drop": "CLI-ERR-003",
    "exec-on-failure": "CLI-OUT-001",
    "print-token": "CLI-OUT-002",
}


@pytest.fixture(scope="module")
def mock():
    with ClientMock() as running:
        yield running


def zoo_adapter(folder: Path, defect: str | None) -> Path:
    """A copy of the zoo adapter with ZOO_DEFECT set on every operation."""
    document = yaml.safe_load((ZOO / "zoo.yaml").read_text())
    name = f"zoo-{defect}" if defect else "zoo"
    document["metadata"]["name"] = name
    for op in document["spec"]["operations"].values():
        op["command"] = [part.replace("{adapter_dir}", str(ZOO)) for part in op["command"]]
        if defect:
            op["env"] = {"ZOO_DEFECT": defect}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


def test_every_must_client_requirement_has_a_defect():
    musts = {r.id for r in select(level="must", direction="client")}
    assert musts == set(DEFECTS.values())


def test_zoo_client_does_not_import_the_project():
    source = (ZOO / "zoo_client.py").read_text()
    assert "conformance" not in source.replace("# ", "")
    assert "mockserver" not in source


def test_the_defect_free_zoo_client_passes_everything(mock, tmp_path):
    run = run_client_suite(zoo_adapter(tmp_path, None), mock=mock)
    assert {r.requirement.id: r.status for r in run.requirements} == {
        r.id: PASS for r in select(direction="client")
    }
    assert exit_status(run) == 0


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_defect_fails_its_requirement(defect, mock, tmp_path):
    requirement = DEFECTS[defect]
    run = run_client_suite(zoo_adapter(tmp_path, defect), mock=mock, requirement_ids=[requirement])
    [result] = run.requirements
    assert (result.requirement.id, result.status) == (requirement, FAIL), result.reason
    assert exit_status(run) == 1


def test_command_line_names_the_failed_requirement_in_results_json(tmp_path):
    adapter = zoo_adapter(tmp_path, "keep-quotes")
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
