"""`esi-mock journal|fault|rotate|clock|quirk` against a running mock found through --state-dir."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.clock import Clock
from mockserver.runtime import MockServer
from tests.wire import ca_body, send

R1_PATH = "/secretstore/app-store/secrets/plain"


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    server = MockServer(
        state_dir=tmp_path_factory.mktemp("admin-cli"), clock=Clock(), refresh_volumes=False
    )
    with server:
        yield server


@pytest.fixture(autouse=True)
def clean(mock):
    mock.reset()


def esi(mock, *args: str) -> str:
    result = CliRunner().invoke(main, [args[0], *args[1:], "--state-dir", str(mock.state.root)])
    assert result.exit_code == 0, result.output
    return result.output


def web(mock):
    alpha = mock.clusters["alpha"]
    body = ca_body(alpha.ca.cert_pem)
    return send(mock.federation_url, "POST", R1_PATH, alpha.mint("team-a/web"), body)


def test_fault_add_list_and_clear(mock):
    added = json.loads(esi(mock, "fault", "add", "--status", "500", "--body", "boom"))
    assert added == {
        "action": "status",
        "body": "boom",
        "count": 1,
        "fired": 0,
        "id": 1,
        "status": 500,
    }
    assert json.loads(esi(mock, "fault", "list"))["faults"][0]["id"] == 1
    assert (web(mock).status, web(mock).status) == (500, 200)
    esi(mock, "fault", "cluster", "--cluster", "alpha", "--kind", "garbage")
    assert esi(mock, "fault", "clear") == "cleared 1 faults\n"


def test_journal_lines(mock):
    web(mock)
    line = esi(mock, "journal", "--route", "secretstore")
    assert f"http  POST  {R1_PATH}  -> 200  subject=system:serviceaccount:team-a:web" in line
    assert "authorization=alpha-web" in line
    assert esi(mock, "journal", "--clear") == "cleared 1 entries\n"


def test_rotate_clock_and_quirk(mock):
    out = esi(mock, "rotate", "--cluster", "alpha")
    kid = out.split()[1].rstrip(";")
    assert f"signing with {kid}" in out and out.count("RS256") == 2
    assert esi(mock, "clock", "--shift", "60").endswith("offset +60.000s\n")
    assert esi(mock, "quirk", "--on", "kidless-panic") == (
        "strict: false\nquirks on: kidless-panic\n"
    )


def test_errors_are_one_line_and_exit_2(mock, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["quirk", "--on", "nope", "--state-dir", str(mock.state.root)])
    assert result.exit_code == 2
    assert result.output.startswith("esi-mock: admin API answered 400: unknown quirk 'nope'")
    result = runner.invoke(main, ["journal", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "connection.json does not exist" in result.output
