"""The ESE client emulations judged by the client suite (issue: ESE as a federation client):
the correct ones pass, the as-released ones fail exactly what the shipped expected-failures
files list, CC-11's requirement among them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.client_runner import run_client_suite
from conformance.requirements import all_requirements
from conformance.results import FAIL, PASS, SKIP, XFAIL, exit_status, load_expected_failures

ROOT = Path(__file__).resolve().parent.parent
ADAPTERS = ROOT / "conformance" / "adapters"
EXAMPLES = ROOT / "docs" / "examples"
HANGS = {"CLI-TLS-002", "CLI-GEN-002"}
"""Judged against a server that never answers: each costs the client's whole timeout."""


def expected(name: str) -> dict[str, str]:
    return load_expected_failures(EXAMPLES / f"expected-failures-{name}.yaml")


JUDGED = {
    # what each emulation can be judged on passes; the rest is skipped as not applicable
    "ese-provider": {
        "CLI-HTTP-001", "CLI-HTTP-002", "CLI-AUTH-001", "CLI-AUTH-003", "CLI-AUTH-005",
        "CLI-WLT-001", "CLI-STORE-001",
    },
    "ese-generator": {
        "CLI-HTTP-001", "CLI-HTTP-004", "CLI-AUTH-001", "CLI-AUTH-003", "CLI-AUTH-004",
        "CLI-WLT-001", "CLI-GEN-001", "CLI-REVOKE-002",
    },
}  # fmt: skip


@pytest.mark.parametrize("adapter", ["ese-provider", "ese-generator"])
def test_correct_emulations_pass_everything_they_can_be_judged_on(adapter):
    ids = sorted(
        r.id
        for r in all_requirements().values()
        if r.direction == "client" and r.level != "SHOULD" and r.id not in HANGS
    )
    run = run_client_suite(str(ADAPTERS / f"{adapter}.yaml"), requirement_ids=ids)
    statuses = {r.requirement.id: r.status for r in run.requirements}
    assert statuses == {i: PASS if i in JUDGED[adapter] else SKIP for i in ids}
    assert exit_status(run) == 0


@pytest.mark.parametrize("adapter", ["ese-provider-as-released", "ese-generator-as-released"])
def test_as_released_emulations_fail_exactly_the_expected_failures(adapter):
    listed = expected(adapter)
    ids = sorted(set(listed) - HANGS)
    run = run_client_suite(str(ADAPTERS / f"{adapter}.yaml"), requirement_ids=ids, expected=listed)
    assert {r.requirement.id: r.status for r in run.requirements} == dict.fromkeys(ids, XFAIL)
    assert exit_status(run) == 0


def test_without_the_file_the_as_released_provider_names_cc_11s_requirement(tmp_path):
    done = subprocess.run(
        [
            sys.executable, "-m", "conformance.cli", "client",
            "--adapter", str(ADAPTERS / "ese-provider-as-released.yaml"),
            "--requirement", "CLI-STORE-001", "--report-dir", str(tmp_path), "-q",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    (requirement,) = results["requirements"]
    assert (requirement["id"], requirement["status"]) == ("CLI-STORE-001", FAIL)
    assert "CC-11" in requirement["reference"]
