"""esi-client against the mock (exact delivery, failures) and against a tiny scripted server that
records every request (wire shape, retry rule, timeouts, daemon refresh). Each run is a real
subprocess, as a harness would start it."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conformance.record_env import make_recorder

CLIENT = [sys.executable, "-m", "conformance.reference_client.cli"]

TRICKY = {
    "plain": "hello",
    "quotes": 'she said "hi" and it\'s fine',
    "html": '<b>fish & chips</b> <script>alert("x")</script>',
    "unicode": "Grüße, 東京 ☃ 🔑 line\u2028separator\u2029paragraph",
    "json": '{"user":"admin","password":"p@ss\\"w0rd","port":5432,"ratio":1.50,'
    '"tags":["a","b"],"nested":{"ok":true,"none":null}}',
    "empty": "",
    "trailing-newline": "ends with a newline\n",
    "multiline": "first line\nsecond line\n",
    "db/password": "c0rrect/h0rse:battery@staple",
}


def run(*args: str, timeout: float = 20, env: dict[str, str] | None = None):
    return subprocess.run(
        [*CLIENT, *args], capture_output=True, timeout=timeout, env=env, check=False
    )


@dataclass
class Identity:
    url: str
    tls_url: str
    server_ca: str
    volume: Path

    @property
    def token(self) -> str:
        return (self.volume / "token").read_text()

    def flags(self, url: str | None = None) -> list[str]:
        return [
            "--federated-server-url", url or self.url,
            "--federated-token", str(self.volume / "token"),
            "--federated-ca-crt", str(self.volume / "ca.crt"),
        ]  # fmt: skip


def identity(mock, cluster: str, sa: str) -> Identity:
    conn = mock.connection()
    return Identity(
        conn["federation_url"],
        conn["federation_tls_url"],
        conn["server_ca_file"],
        Path(conn["clusters"][cluster]["serviceaccounts"][sa]),
    )


@pytest.fixture(scope="module")
def web(mock) -> Identity:
    return identity(mock, "alpha", "team-a/web")


# -- against the mock ----------------------------------------------------------------------------


def test_store_values_land_in_files_byte_exact_0600(web, tmp_path):
    out = tmp_path / "deep" / "er"
    maps = [f"{out}/{i}={'app-store'}.{key}" for i, key in enumerate(TRICKY)]
    done = run("--mode", "init", *web.flags(web.url + "/"), "--federated-store", "app-store",
               "--inject-on-file", ",".join(maps))  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    for i, value in enumerate(TRICKY.values()):
        assert (out / str(i)).read_bytes() == value.encode()
        assert (out / str(i)).stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in out.iterdir()) == sorted(str(i) for i in range(len(TRICKY)))


def test_generator_keys_reach_the_program_environment_and_args_pass_unchanged(web, tmp_path):
    recorder = make_recorder(tmp_path)
    done = run("--mode", "init", *web.flags(), "--federated-generators", "team-a/Fake/fake-static",
               "--inject-on-env", "*,SECOND=fake-static.username",
               "--", str(recorder.program), "a,b", "two words", "")  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = recorder.read()
    assert record is not None
    assert record["argv"] == ["a,b", "two words", ""]
    env = record["env"]
    assert (env["USERNAME"], env["PASSWORD"], env["SECOND"]) == ("admin", 'p@ss"word<&>', "admin")
    assert b"p@ss" not in done.stdout + done.stderr


def test_esi_cli_binary_path_and_comma_joined_args(web, tmp_path):
    recorder = make_recorder(tmp_path)
    done = run("--mode", "init", *web.flags(), "--federated-store", "app-store",
               "--inject-on-env", "DB_PASSWORD=app-store.db/password",
               "--binary-path", str(recorder.program), "--args", "x,y")  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = recorder.read()
    assert record is not None
    assert record["argv"] == ["x", "y"]
    assert record["env"]["DB_PASSWORD"] == TRICKY["db/password"]


def test_a_denied_fetch_writes_nothing_and_runs_nothing(web, tmp_path):
    recorder = make_recorder(tmp_path / "rec")
    out = tmp_path / "out"
    done = run("--mode", "init", *web.flags(), "--federated-store", "app-store,prod",
               "--inject-on-file", f"{out}/a=app-store.plain,{out}/b=prod.db-url",
               "--", str(recorder.program))  # fmt: skip
    assert done.returncode == 1
    assert not out.exists() and recorder.read() is None
    assert done.stdout == b""
    assert done.stderr.decode() == (
        "esi-client: error: POST /secretstore/prod/secrets/db-url: the server answered 404 "
        '"Not Found" (not authorised: no Authorization on the server grants this identity this '
        "resource); nothing was written or run\n"
    )
    assert web.token.strip() not in done.stderr.decode()


def test_a_backend_400_names_status_and_message(web, tmp_path):
    done = run("--mode", "init", *web.flags(), "--federated-store", "app-store",
               "--inject-on-file", f"{tmp_path}/x=app-store.missing-key")  # fmt: skip
    assert done.returncode == 1
    assert b"answered 400 " in done.stderr and b"missing-key" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_https_verifies_with_the_server_ca_option_and_refuses_otherwise(web, tmp_path):
    args = ["--mode", "init", *web.flags(web.tls_url), "--federated-store", "app-store",
            "--inject-on-file", f"{tmp_path}/v=app-store.plain"]  # fmt: skip
    refused = run(*args)  # esi-cli's default: the cluster CA also verifies the server
    assert refused.returncode == 1
    assert b"TLS certificate is not trusted" in refused.stderr
    assert not (tmp_path / "v").exists()
    done = run(*args, "--federated-server-ca", web.server_ca)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "v").read_bytes() == b"hello"


def test_revoke_self_and_revoke_of_succeed_against_the_mock(mock, web):
    done = run("--mode", "revoke-self", *web.flags(), "--federated-generators", "team-a/UUID/uuid")
    assert (done.returncode, done.stderr) == (0, b"")
    admin = identity(mock, "alpha", "ops/admin")
    done = run("--mode", "revoke-of", *admin.flags(), "--namespace", "team-a",
               "--revoke-owner", "web")  # fmt: skip
    assert (done.returncode, done.stderr) == (0, b"")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--inject-on-env", "A=app-store.plain"], "--inject-on-env needs a program"),
        (["--inject-on-file", "/x=nowhere.k"], "'nowhere.k' names no configured"),
        (["--inject-on-file", "/x=app-store"], "names a store; write STORE.KEY"),
        (["--mode", "daemon", "--inject-on-env", "A=app-store.plain"], "daemon mode writes files"),
        (["--mode", "revoke-of", "--revoke-owner", "o", "--revoke-namespace", ""], "non-empty"),
        (["--timeout", "soon", "--inject-on-file", "/x=app-store.plain"], "--timeout: 'soon'"),
    ],
)
def test_usage_errors_exit_2_before_sending(args, message):
    base = ["--federated-server-url", "http://127.0.0.1:9", "--federated-store", "app-store"]
    mode = [] if "--mode" in args else ["--mode", "init"]
    done = run(*mode, *base, *args)
    assert done.returncode == 2
    assert message in done.stderr.decode()


# -- against a scripted server -------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Scripted:
    """Answers from a script, one per request (the last repeats); records every request.
    An answer is (status, body), "hang" (wait until released) or "drop" (close, no answer)."""

    answers: list[object]
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def next_answer(self) -> object:
        index = min(len(self.seen) - 1, len(self.answers) - 1)
        return self.answers[index]


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    state = Scripted([(200, b'"ok"\n')])

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
            answer = state.next_answer()
            if answer == "hang":
                state.release.wait(5)
                return
            if answer == "drop":
                self.close_connection = True
                return
            status, data = answer  # type: ignore[misc]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_DELETE = do_GET = _any

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def volume(web, tmp_path) -> Path:
    """A token file ending in a newline and the alpha cluster CA."""
    folder = tmp_path / "sa"
    folder.mkdir()
    (folder / "token").write_text("header.payload.signature\n")
    (folder / "ca.crt").write_bytes((web.volume / "ca.crt").read_bytes())
    return folder


def local(scripted: Scripted, volume: Path, *args: str, url: str | None = None):
    return run("--federated-server-url", url or scripted.url,
               "--federated-token", str(volume / "token"),
               "--federated-ca-crt", str(volume / "ca.crt"),
               "--retry-delay", "10ms", *args)  # fmt: skip


def store_get(scripted, volume, out: Path, *extra: str, key: str = "k", url: str | None = None):
    return local(scripted, volume, "--mode", "init", "--federated-store", "s",
                 "--inject-on-file", f"{out}=s.{key}", *extra, url=url)  # fmt: skip


def test_request_shape_header_body_and_path(scripted, volume, tmp_path):
    done = store_get(scripted, volume, tmp_path / "v", url=scripted.url + "/prefix//")
    assert done.returncode == 0, done.stderr
    (seen,) = scripted.seen
    assert (seen.method, seen.path) == ("POST", "/prefix/secretstore/s/secrets/k")
    assert seen.headers["Authorization"] == "Bearer header.payload.signature"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Content-Length"] == str(len(seen.body))
    assert "x-workload-token" not in {k.lower() for k in seen.headers}
    assert json.loads(seen.body) == {
        "ca.crt": base64.b64encode((volume / "ca.crt").read_bytes()).decode()
    }
    assert (tmp_path / "v").read_bytes() == b"ok"


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("a/b", "a/b"),
        ("a b", "a%20b"),
        ("a?b", "a%3Fb"),
        ("a#b", "a%23b"),
        ("a%b", "a%25b"),
        ("ä", "%C3%A4"),
        ("x:y@z=1;$&+,", "x:y@z=1;$&+,"),
        ("it's(1)*!", "it%27s%281%29%2A%21"),
    ],
)
def test_keys_are_escaped_as_go_escapes_a_path(scripted, volume, tmp_path, key, raw):
    assert store_get(scripted, volume, tmp_path / "v", key=key).returncode == 0
    assert scripted.seen[0].path == f"/secretstore/s/secrets/{raw}"


def test_revoke_self_and_revoke_of_carry_the_json_body(scripted, volume):
    scripted.answers = [(200, b"null\n")]
    assert local(scripted, volume, "--mode", "revoke-self",
                 "--federated-generators", "ns/Password/p").returncode == 0  # fmt: skip
    scripted.answers = [(200, b'"GeneratorState deleted"\n')]
    done = local(scripted, volume, "--mode", "revoke-of", "--namespace", "ns",
                 "--revoke-owner", "pod-1", "--revoke-namespace", "team-a")  # fmt: skip
    assert done.returncode == 0
    delete, revoke = scripted.seen
    ca = base64.b64encode((volume / "ca.crt").read_bytes()).decode()
    assert (delete.method, delete.path) == ("DELETE", "/generators/ns/Password/p")
    assert delete.headers["Content-Type"] == "application/json"
    assert json.loads(delete.body) == {"ca.crt": ca}
    assert (revoke.method, revoke.path) == ("POST", "/generators/ns/revoke")
    assert json.loads(revoke.body) == {"ca.crt": ca, "owner": "pod-1", "namespace": "team-a"}


def test_a_401_is_retried_once_and_then_succeeds(scripted, volume, tmp_path):
    scripted.answers = [(401, b'"unexpected end of JSON input"\n'), (200, b'"v"\n')]
    done = store_get(scripted, volume, tmp_path / "v")
    assert done.returncode == 0, done.stderr
    assert len(scripted.seen) == 2
    assert (tmp_path / "v").read_bytes() == b"v"


def test_two_401s_fail_after_exactly_two_requests(scripted, volume, tmp_path):
    scripted.answers = [(401, b'"token expired"\n')]
    done = store_get(scripted, volume, tmp_path / "v")
    assert done.returncode == 1
    assert len(scripted.seen) == 2
    assert b'answered 401 "token expired" (authentication failed' in done.stderr
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((500, b"boom"), b'answered 500 "boom" (server error; not retried)'),
        ((502, b""), b"answered 502"),
        ("drop", b"closed the connection without answering"),
        ("hang", b"no answer within 0.3 s (timed out)"),
        ((400, b'"pods \\"web\\" not found"\n'), b'answered 400 "pods \\"web\\" not found"'),
    ],
)
def test_a_generator_post_is_never_repeated_after_a_failure(
    scripted, volume, tmp_path, answer, message
):
    scripted.answers = [answer]
    recorder = make_recorder(tmp_path)
    done = local(scripted, volume, "--mode", "init", "--timeout", "300ms",
                 "--federated-generators", "ns/Password/p", "--inject-on-env", "*",
                 "--inject-on-file", f"{tmp_path}/f=p.password",
                 "--", str(recorder.program))  # fmt: skip
    assert done.returncode == 1
    assert message in done.stderr
    assert [(s.method, s.path) for s in scripted.seen] == [("POST", "/generators/ns/Password/p")]
    assert recorder.read() is None and not (tmp_path / "f").exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'"trunc', b"200 but the body is not valid JSON; expected a JSON string"),
        (b"s3cr3t", b"200 but the body is not valid JSON"),
        (b'{"a":"b"}\n', b"200 but the body is an object, expected a JSON string"),
        (b'"a" "b"', b"200 but the body is not valid JSON"),
        (b"null\n", b"200 but the body is null, expected a JSON string"),
        (b'"\xff"', b"200 but the body is not UTF-8"),
    ],
)
def test_a_store_answer_must_be_one_json_string(scripted, volume, tmp_path, body, message):
    scripted.answers = [(200, body)]
    done = store_get(scripted, volume, tmp_path / "v")
    assert done.returncode == 1
    assert message in done.stderr
    assert b"s3cr3t" not in done.stderr
    assert not (tmp_path / "v").exists()


def test_generator_answer_must_be_an_object_of_strings(scripted, volume, tmp_path):
    scripted.answers = [(200, b'{"password":"x","port":5432}\n')]
    recorder = make_recorder(tmp_path)
    done = local(scripted, volume, "--mode", "init", "--federated-generators", "ns/Password/p",
                 "--inject-on-env", "*", "--", str(recorder.program))  # fmt: skip
    assert done.returncode == 1
    assert b"member(s) port are not strings" in done.stderr
    assert recorder.read() is None


def test_neither_token_nor_values_are_printed(scripted, volume, tmp_path):
    scripted.answers = [(200, b'"s3cr3t-value"\n')]
    done = store_get(scripted, volume, tmp_path / "v", "-v")
    assert done.returncode == 0
    scripted.answers = [(400, b'"bad header.payload.signature"\n')]
    failed = store_get(scripted, volume, tmp_path / "w")
    output = done.stdout + done.stderr + failed.stdout + failed.stderr
    assert b"header.payload.signature" not in output and b"s3cr3t" not in output
    assert b'answered 400 "bad [token]"' in failed.stderr


def test_daemon_refreshes_and_keeps_the_last_good_file(scripted, volume, tmp_path):
    scripted.answers = [(200, b'"one"\n'), (200, b'"two"\n'), (500, b'"down"\n')]
    out = tmp_path / "d" / "v"
    done = store_get(scripted, volume, out, "--mode", "daemon",
                     "--daemon-refresh-interval", "50ms", "--max-refreshes", "2")  # fmt: skip
    assert done.returncode == 1  # the last cycle failed
    assert len(scripted.seen) == 3
    assert out.read_bytes() == b"two"
    assert b"keeping the last written files" in done.stderr
    assert [p.name for p in out.parent.iterdir()] == ["v"]


def test_daemon_stops_cleanly_on_sigterm(scripted, volume, tmp_path):
    out = tmp_path / "v"
    process = subprocess.Popen(
        [*CLIENT, "--mode", "daemon", "--federated-server-url", scripted.url,
         "--federated-token", str(volume / "token"), "--federated-ca-crt", str(volume / "ca.crt"),
         "--federated-store", "s", "--inject-on-file", f"{out}=s.k",
         "--daemon-refresh-interval", "1h"],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert out.read_bytes() == b"ok"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        assert process.stderr is not None
        process.stderr.close()


def test_program_that_cannot_run_exits_127(scripted, volume, tmp_path):
    done = local(scripted, volume, "--mode", "init", "--federated-store", "s",
                 "--inject-on-env", "V=s.k", "--", str(tmp_path / "missing"))  # fmt: skip
    assert done.returncode == 127
    assert b"cannot run" in done.stderr


def test_default_token_path_is_the_service_account_mount():
    done = run("--mode", "init", "--federated-server-url", "http://127.0.0.1:9",
               "--federated-store", "s", "--inject-on-file", "/nonexistent/x=s.k")  # fmt: skip
    assert done.returncode == 1
    default = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    expected = "connection refused" if os.path.exists(default) else f"token file {default}"
    assert expected in done.stderr.decode()
