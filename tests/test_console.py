"""The console's server side: its pages, the Host / Origin / token rules that keep other web pages
out of the admin API, the `curl` line of a journal entry, and a results.json named at start."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess

import pytest

from mockserver.admin.browserguard import TOKEN_HEADER, BrowserGuard
from mockserver.admin.client import AdminClient
from mockserver.clock import Clock
from mockserver.console.curl import curl_command
from mockserver.runtime import MockServer
from tests.wire import BIN, send, start_serving

R1_PATH = "/secretstore/app-store/secrets/plain"
TOKEN_META = re.compile(r'<meta name="esi-console-token" content="([^"]+)">')


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    results = tmp_path_factory.mktemp("results") / "results.json"
    results.write_text(json.dumps({"metadata": {"target": "t"}, "requirements": []}))
    server = MockServer(
        state_dir=tmp_path_factory.mktemp("console"),
        clock=Clock(),
        refresh_volumes=False,
        console_results=results,
    )
    with server:
        yield server


@pytest.fixture(autouse=True)
def clean(mock):
    mock.reset()
    yield
    assert mock.take_errors() == []


def host_of(mock: MockServer) -> str:
    return f"127.0.0.1:{mock.admin_listener.port}"


def page_token(mock: MockServer) -> str:
    reply = send(mock.admin_url, "GET", "/")
    found = TOKEN_META.search(reply.body.decode())
    assert found is not None
    return found.group(1)


# -- pages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/", "Journal"),
        ("/console/state", "State"),
        ("/console/faults", "Faults and modes"),
        ("/console/conformance", "Conformance results"),
    ],
)
def test_each_page_is_served_with_its_title_and_no_outside_resource(mock, path, title):
    reply = send(mock.admin_url, "GET", path)
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    text = reply.body.decode()
    assert f"<title>{title} · esi-mock console</title>" in text
    assert f"<h1>{title}</h1>" in text
    assert not re.search(r'(src|href)="(https?:)?//', text)


def test_static_files_ship_with_the_package(mock):
    for name in ("console.js", "journal.js", "state.js", "faults.js", "conformance.js"):
        reply = send(mock.admin_url, "GET", f"/console/static/{name}")
        assert reply.status == 200, name
        assert reply.headers["content-type"].startswith("text/javascript")
    assert send(mock.admin_url, "GET", "/console/static/console.css").status == 200


def test_connection_names_the_console_url(mock):
    assert mock.connection()["console_url"] == mock.admin_url + "/"


def test_the_page_token_is_per_run_and_never_in_connection_json(mock, tmp_path):
    token = page_token(mock)
    assert len(token) >= 32
    assert token not in json.dumps(mock.connection())
    with MockServer(state_dir=tmp_path, clock=Clock(), refresh_volumes=False) as other:
        assert page_token(other) != token


# -- Host ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]", "LOCALHOST"])
def test_loopback_names_with_the_listener_port_are_accepted(mock, name):
    port = mock.admin_listener.port
    reply = send(mock.admin_url, "GET", "/health", headers={"Host": f"{name}:{port}"})
    assert reply.status == 200


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "127.0.0.1", "127.0.0.1:1", "rebound.test:{port}"],
)
def test_another_host_is_refused_on_every_route(mock, host):
    port = mock.admin_listener.port
    host = host.format(port=port)
    for method, path in (("GET", "/health"), ("GET", "/"), ("POST", "/reset")):
        reply = send(mock.admin_url, method, path, headers={"Host": host})
        assert reply.status == 403
        assert reply.json() == {
            "error": f"the admin API refuses Host {host!r}: it answers only to its own address "
            f"(127.0.0.1, localhost or [::1] with port {port}); open http://127.0.0.1:{port}"
        }


def test_on_port_80_a_host_without_the_port_is_its_own():
    guard = BrowserGuard(token="t")
    assert guard.allowed_hosts("127.0.0.1", "80") == {
        "127.0.0.1",
        "localhost",
        "[::1]",
        "127.0.0.1:80",
        "localhost:80",
        "[::1]:80",
    }
    assert guard.allowed_hosts("::1", "8080") == {"127.0.0.1:8080", "localhost:8080", "[::1]:8080"}


def test_a_request_without_host_is_refused(mock):
    reply = send(mock.admin_url, "GET", "/health", headers={"Host": ""})
    assert reply.status == 403
    assert reply.json() == {
        "error": f"the admin API needs a Host header naming it ({mock.admin_url})"
    }


# -- Origin and the token ------------------------------------------------------------------------


def test_without_origin_the_cli_needs_no_token(mock):
    reply = send(mock.admin_url, "POST", "/faults", body=b'{"status": 500}')
    assert reply.status == 201
    assert AdminClient(mock.admin_url).faults()[0]["status"] == 500


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "http://localhost:{port}", "http://127.0.0.1:1"]
)
def test_a_foreign_origin_is_refused_even_with_the_token(mock, origin):
    origin = origin.format(port=mock.admin_listener.port)
    for method, path in (("POST", "/faults"), ("GET", "/journal")):
        reply = send(
            mock.admin_url,
            method,
            path,
            body=b'{"status": 500}' if method == "POST" else None,
            headers={"Origin": origin, TOKEN_HEADER: page_token(mock)},
        )
        assert reply.status == 403
        assert reply.json() == {
            "error": f"the admin API refuses a browser request from Origin {origin!r}: only the "
            f"console's own page ({mock.admin_url}/) may call it"
        }
    assert mock.admin.faults() == []


@pytest.mark.parametrize("token", [None, "", "wrong"])
def test_the_console_origin_without_the_token_cannot_change_state(mock, token):
    headers = {"Origin": f"http://{host_of(mock)}"}
    if token is not None:
        headers[TOKEN_HEADER] = token
    for method, path in (("POST", "/faults"), ("DELETE", "/journal"), ("PUT", "/quirks")):
        reply = send(mock.admin_url, method, path, body=b'{"status": 500}', headers=headers)
        assert reply.status == 403
        assert reply.json() == {
            "error": "a browser request that changes state needs the console's token in the "
            f"X-ESI-Console-Token header; reload the console at {mock.admin_url}/"
        }
    assert mock.admin.faults() == []


def test_the_console_origin_reads_freely_and_changes_state_with_the_token(mock):
    origin = {"Origin": f"http://{host_of(mock)}"}
    assert send(mock.admin_url, "GET", "/faults", headers=origin).status == 200
    reply = send(
        mock.admin_url,
        "POST",
        "/faults",
        body=b'{"status": 503}',
        headers={**origin, TOKEN_HEADER: page_token(mock)},
    )
    assert reply.status == 201
    assert [rule["status"] for rule in mock.admin.faults()] == [503]


# -- curl ----------------------------------------------------------------------------------------


CONNECTION = {
    "state_dir": "/tmp/esi state",
    "federation_url": "http://127.0.0.1:8080",
    "federation_tls_url": "https://127.0.0.1:8443",
    "federation_mtls_url": "https://127.0.0.1:9443",
    "server_ca_file": "/tmp/esi state/server/ca.crt",
    "clusters": {
        "alpha": {"issuer": "https://kubernetes.default.svc.cluster.local", "ca_file": "/ca/a"}
    },
}


def test_curl_line_fetches_a_fresh_token_and_reads_the_ca_from_its_file():
    entry = {
        "listener": "https",
        "method": "POST",
        "path": R1_PATH,
        "query": "x=1",
        "headers": {
            "Host": "127.0.0.1:8443",
            "Authorization": "Bearer sha256:8d046bf3",
            "Content-Type": "application/json",
        },
        "body": '{"ca.crt": "sha256:04dc0659"}',
        "identity": {
            "method": "oidc",
            "issuer": "https://kubernetes.default.svc.cluster.local",
            "subject": "system:serviceaccount:team-a:web",
        },
    }
    assert curl_command(entry, CONNECTION) == (
        "curl -sS \\\n  -X POST \\\n"
        f"  'https://127.0.0.1:8443{R1_PATH}?x=1' \\\n"
        "  --cacert '/tmp/esi state/server/ca.crt' \\\n"
        "  -H \"Authorization: Bearer $(esi-mock token --state-dir '/tmp/esi state' "
        '--cluster alpha --sa team-a/web)" \\\n'
        "  -H 'Content-Type: application/json' \\\n"
        '  --data-binary \'{"ca.crt": "\'"$(base64 -w0 /ca/a)"\'"}\''
    )


def test_curl_line_never_carries_a_credential_it_cannot_derive():
    entry = {
        "listener": "mtls",
        "method": "GET",
        "path": "/x",
        "headers": {
            "Authorization": "Bearer eyJhbGciOi.clear.token",
            "x-workload-token": "eyJ.workload.token",
            "Cookie": "session=sha256:1234abcd",
        },
        "identity": None,
    }
    line = curl_command(entry, CONNECTION)
    assert "eyJ" not in line
    assert '-H "Authorization: Bearer $TOKEN"' in line
    assert '-H "x-workload-token: $TOKEN"' in line
    assert '-H "Cookie: $COOKIE"' in line
    assert '--cert "$CLIENT_CERT" --key "$CLIENT_KEY"' in line


def test_curl_line_of_an_entry_over_the_api(mock):
    alpha = mock.clusters["alpha"]
    reply = send(
        mock.federation_url, "POST", R1_PATH, alpha.mint("team-a/web"), mock.admin.ca_body()
    )
    assert reply.status == 200
    [entry] = mock.admin.journal()
    answer = send(mock.admin_url, "GET", f"/console/journal/{entry['id']}/curl").json()
    assert answer == {"id": entry["id"], "curl": curl_command(entry, mock.connection())}
    missing = send(mock.admin_url, "GET", "/console/journal/999999/curl")
    assert missing.status == 404
    assert missing.json() == {"error": "no journal entry 999999 (cleared, or pushed out)"}


def test_the_curl_line_repeats_the_request_from_a_shell(tmp_path):
    state = tmp_path / "served"
    results = tmp_path / "results.json"
    results.write_text('{"requirements": []}')
    process, info = start_serving(state, "--results", str(results))
    try:
        assert info["console_url"] == info["admin_url"] + "/"
        admin = AdminClient(info["admin_url"])
        token = admin.mint_token("alpha", "team-a/web")
        ca_file = info["clusters"]["alpha"]["ca_file"]
        subprocess.run(
            [
                "bash",
                "-c",
                f"curl -sS -o /dev/null -X POST {info['federation_url']}{R1_PATH} "
                f'-H "Authorization: Bearer {token}" '
                f'--data-binary "{{\\"ca.crt\\": \\"$(base64 -w0 {ca_file})\\"}}"',
            ],
            check=True,
            timeout=30,
        )
        [entry] = admin.journal()
        line = send(info["admin_url"], "GET", f"/console/journal/{entry['id']}/curl").json()
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        repeated = subprocess.run(
            ["bash", "-c", line["curl"]], capture_output=True, text=True, env=env, timeout=60
        )
        assert (repeated.returncode, repeated.stdout, repeated.stderr) == (0, '"hello"\n', "")
        kept = send(info["admin_url"], "GET", "/console/results")
        assert (kept.status, kept.json()) == (200, {"requirements": []})
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=20)
    assert f"  console:     {info['console_url']}\n" in out


# -- a results.json named at start ---------------------------------------------------------------


def test_the_results_named_at_start_are_served(mock):
    reply = send(mock.admin_url, "GET", "/console/results")
    assert reply.status == 200
    assert reply.json() == {"metadata": {"target": "t"}, "requirements": []}


def test_broken_or_missing_results_are_one_clear_error(mock, tmp_path):
    path = mock.console_results
    assert path is not None
    original = path.read_text()
    try:
        path.write_text("{not json")
        reply = send(mock.admin_url, "GET", "/console/results")
        assert reply.status == 400
        assert reply.json()["error"].startswith(f"{path} is not JSON (")
        path.write_text("[]")
        reply = send(mock.admin_url, "GET", "/console/results")
        assert reply.json() == {
            "error": f"{path} has no 'requirements' list; give a conformance results.json"
        }
    finally:
        path.write_text(original)
    with MockServer(state_dir=tmp_path, clock=Clock(), refresh_volumes=False) as plain:
        reply = send(plain.admin_url, "GET", "/console/results")
        assert reply.status == 404
        assert reply.json() == {
            "error": "no results file was given at start; upload one, or start with --results PATH"
        }


def test_serve_refuses_a_results_path_that_does_not_exist(tmp_path):
    result = subprocess.run(
        [str(BIN / "esi-mock"), "serve", "--results", str(tmp_path / "none.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--results" in result.stderr and "does not exist" in result.stderr
