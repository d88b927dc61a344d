"""The GitHub Actions workflow of docs/ci.md: every `run:` step, as written, in one job folder.

`$GITHUB_ENV` works as on GitHub (lines `NAME=value` appended by a step are in the environment of
the later steps); `uses:` steps are GitHub's own and the installation step is the packaging
test's. The steps then find `esi-conformance` and `esi-mock` on PATH as an installed wheel has
them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ci.md"
INSTALL = "Install the harness"


def workflow() -> dict[str, Any]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- workflow -->", 1)[1].split("<!-- /workflow -->", 1)[0]
    return yaml.safe_load(block.strip().removeprefix("```yaml").removesuffix("```"))


def shims(folder: Path) -> None:
    folder.mkdir()
    for name, module in (("esi-conformance", "conformance.cli"), ("esi-mock", "mockserver.cli")):
        path = folder / name
        path.write_text(f'#!/bin/sh\nexec {sys.executable} -m {module} "$@"\n')
        path.chmod(0o755)


def test_workflow_shape():
    job = workflow()["jobs"]["conformance"]
    names = [s.get("name") or s["uses"] for s in job["steps"]]
    assert names == [
        "actions/checkout@v4",
        "actions/setup-python@v5",
        INSTALL,
        "Write the bundle",
        "Start the server under test",
        "Server suite",
        "Client suite",
        "Stop the server under test",
        "Test report",
        "HTML reports",
    ]
    by_name = {s.get("name"): s for s in job["steps"]}
    assert by_name["Test report"]["with"]["report_paths"] == "reports/*/junit.xml"
    assert by_name["HTML reports"]["with"]["path"] == "reports/"
    for name in ("Client suite", "Stop the server under test", "Test report", "HTML reports"):
        assert by_name[name]["if"] == "always()"
    assert by_name[INSTALL]["run"] == "python -m pip install esi-federation-mock"


@pytest.mark.slow
def test_workflow_run_steps_pass_against_the_mock(tmp_path):
    job = workflow()["jobs"]["conformance"]
    bin_dir = tmp_path / "bin"
    shims(bin_dir)
    work = tmp_path / "job"
    work.mkdir()
    github_env = tmp_path / "github_env"
    github_env.touch()
    env = {
        **os.environ,
        **{k: str(v) for k, v in job["env"].items()},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "GITHUB_ENV": str(github_env),
    }
    statuses = {}
    for step in job["steps"]:
        if "run" not in step or step["name"] == INSTALL:
            continue
        for line in github_env.read_text().splitlines():
            name, _, value = line.partition("=")
            env[name] = value
        done = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        statuses[step["name"]] = done.returncode
        assert done.returncode == 0, (step["name"], done.stdout[-2000:], done.stderr[-2000:])
    assert list(statuses) == [
        "Write the bundle",
        "Start the server under test",
        "Server suite",
        "Client suite",
        "Stop the server under test",
    ]
    assert env["ESI_CONFORMANCE_TARGET"].startswith("http://127.0.0.1:")
    for suite in ("server", "client"):
        assert {p.name for p in (work / "reports" / suite).iterdir()} >= {
            "junit.xml",
            "results.json",
            "report.html",
        }
    junit = (work / "reports" / "server" / "junit.xml").read_text()
    assert "<failure" not in junit and 'classname="server.' in junit
