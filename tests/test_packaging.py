"""The wheel works without the source tree: built from pyproject.toml, installed into a clean
virtual environment, its three commands run from a folder far from the checkout.

The wheel is built by pip with build isolation (hatchling comes from the package registry).
The clean environment gets the project's dependencies by a path entry to the development
environment's site-packages, not by installing them again: that entry adds the folder to
`sys.path` without running its `.pth` files, so the checkout's editable install stays invisible
and every import of `mockserver` and `conformance` resolves to the wheel.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh environment holding only the wheel (and a path to the deps)."""
    base = tmp_path_factory.mktemp("packaging")
    dist = base / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = dist.glob("esi_federation_mock-*.whl")
    env_dir = base / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "deps-from-development.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    return env_dir / "bin"


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def run(bin_dir: Path, cwd: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_wheel_imports_from_the_environment_not_the_checkout(installed, tmp_path):
    done = run(
        installed,
        tmp_path,
        "python",
        "-c",
        "import mockserver, conformance, mockserver.paths as p;"
        "print(mockserver.__file__); print(conformance.__file__); print(p.default_fixtures_dir())",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(str(installed.parent) in line for line in lines), lines
    assert lines[2].endswith("mockserver/_data/fixtures")


def test_esi_mock_serve_runs_from_the_wheel(installed, tmp_path):
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [str(installed / "esi-mock"), "serve", "--state-dir", str(state)],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = run(installed, tmp_path, "esi-mock", "wait", "--state-dir", str(state))
        assert ready.returncode == 0, ready.stderr
        info = json.loads((state / "connection.json").read_text())
        assert ready.stdout == f"ready: {info['federation_url']}\n"
        assert info["fixtures"].endswith("mockserver/_data/fixtures")
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert out.endswith("esi-mock stopped\n")


def test_both_suites_run_from_the_wheel(installed, tmp_path):
    server = run(installed, tmp_path, "esi-conformance", "server", "--profile", "smoke", "-q")
    assert server.returncode == 0, server.stdout[-2000:] + server.stderr[-2000:]
    assert server.stdout.startswith("server suite: PASS ")
    client = run(
        installed,
        tmp_path,
        "esi-conformance",
        "client",
        "--adapter",
        "reference",
        "--requirement",
        "CLI-HTTP-001",
        "-q",
    )
    assert client.returncode == 0, client.stdout[-2000:] + client.stderr[-2000:]
    assert client.stdout.startswith("client suite: PASS 1: exit 0")
    for suite in ("server", "client"):
        assert (tmp_path / "reports" / suite / "junit.xml").exists()
