"""`esi-mock` as scripts use it: fixed ports per listener, loopback unless asked, variables for
every serve option, a readiness wait, no keys left behind, one-line errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

from click.testing import CliRunner

from mockserver.cli import main
from mockserver.readiness import wait_ready
from tests.wire import BIN, start_serving


def free_ports(count: int) -> list[int]:
    probes = [socket.socket() for _ in range(count)]
    for probe in probes:
        probe.bind(("127.0.0.1", 0))
    ports = [p.getsockname()[1] for p in probes]
    for probe in probes:
        probe.close()
    return ports


def esi_mock(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "esi-mock"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=20)


def test_fixed_ports_from_options_and_variables_and_wait(tmp_path):
    http, tls, mtls, admin = free_ports(4)
    os.environ["ESI_MOCK_ADMIN_PORT"] = str(admin)
    try:
        process, info = start_serving(
            tmp_path, "--port", str(http), "--tls-port", str(tls), "--mtls-port", str(mtls)
        )
    finally:
        del os.environ["ESI_MOCK_ADMIN_PORT"]
    try:
        assert info["federation_url"] == f"http://127.0.0.1:{http}"
        assert info["federation_tls_url"] == f"https://127.0.0.1:{tls}"
        assert info["federation_mtls_url"] == f"https://127.0.0.1:{mtls}"
        assert info["admin_url"] == f"http://127.0.0.1:{admin}"
        ready = esi_mock("wait", "--state-dir", str(tmp_path), "--timeout", "20")
        assert (ready.returncode, ready.stdout) == (0, f"ready: http://127.0.0.1:{http}\n")
    finally:
        stop(process)


def test_a_taken_port_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = esi_mock("serve", "--state-dir", str(tmp_path), "--port", str(port))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"esi-mock: cannot listen on 127.0.0.1:{port} (--port): Address already in use; "
        "choose another port or stop what uses it\n"
    )


def test_wait_gives_up_with_the_reason(tmp_path):
    result = CliRunner().invoke(main, ["wait", "--state-dir", str(tmp_path), "--timeout", "0"])
    assert result.exit_code == 1
    assert result.output == (
        f"esi-mock: not ready after 0s: {tmp_path / 'connection.json'} does not exist yet; "
        f"is `esi-mock serve --state-dir {tmp_path}` running?\n"
    )


def test_wait_polls_on_an_injected_clock(tmp_path):
    now = [0.0]
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds

    reason = wait_ready(tmp_path, 0.2, clock=lambda: now[0], sleep=sleep)
    assert reason == f"{tmp_path / 'connection.json'} does not exist yet"
    assert len(naps) == 4


def test_without_state_dir_nothing_is_left_behind():
    process = subprocess.Popen(
        [str(BIN / "esi-mock"), "serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    process.stdout.readline()
    state_line = process.stdout.readline()
    assert state_line.strip().startswith("state:")
    assert state_line.rstrip().endswith("(removed on exit)")
    state = Path(state_line.split()[1])
    assert (state / "connection.json").exists()
    out, _ = stop(process)
    assert "esi-mock stopped" in out
    assert not state.exists()


def test_a_non_loopback_host_warns(tmp_path):
    process, info = start_serving(tmp_path, "--host", "0.0.0.0")
    try:
        assert info["federation_url"].startswith("http://0.0.0.0:")
    finally:
        _, err = stop(process)
    assert err.splitlines()[0] == (
        "esi-mock: warning: --host 0.0.0.0 exposes the federation listeners beyond this "
        "machine; use it only on a network you trust"
    )


def test_usage_errors_are_one_line():
    result = CliRunner().invoke(main, ["serve", "--port", "99999"], prog_name="esi-mock")
    assert result.exit_code == 2
    assert result.output == (
        "esi-mock serve: Invalid value for '--port' (env var: 'ESI_MOCK_PORT'): 99999 is not in "
        "the range 0<=x<=65535; see `esi-mock serve --help`\n"
    )


def test_version_and_short_help():
    version = CliRunner().invoke(main, ["--version"])
    assert (
        version.output
        == "esi-mock 0.1.0 (follows external-secrets-inc/federation-server at ed0c3e9)\n"
    )
    short = CliRunner().invoke(main, ["serve", "-h"], prog_name="esi-mock")
    assert short.exit_code == 0
    assert "[env var: ESI_MOCK_TLS_PORT; default: 0;" in " ".join(short.output.split())
